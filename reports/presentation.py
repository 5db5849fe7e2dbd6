"""How statuses look on every page and file, written once: a Bootstrap contextual
colour and an icon character for each verdict status (targets.progress.Status), each
task status (targets.models.TaskStatus) and each state of a body's reporting
(reporting.ReportState); the badges and bars built from them; and a target's row,
formatted once. Pages show text + icon + colour, never colour alone. The icons exist
in DejaVu Sans (used for the PDF).

The templates read the same tables through reports.templatetags.report_ui
(`{{ status|status_colour }}`, `{{ status|status_icon }}`, `{% status_badge %}`)."""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from targets.models import TaskStatus
from targets.numbers import format_decimal, unit_suffix
from targets.progress import SUMMARY_ORDER, Status, TargetProgress
from targets.reading import HUNDRED, PERCENT_QUANTUM

from .reporting import ReportState, bar_percent, lead_name, override_words


class Style(NamedTuple):
    colour: str  # Bootstrap contextual colour: text-bg-<colour>, fill-<colour>
    icon: str


STATUS_STYLE: dict[Status, Style] = {
    Status.NO_DATA: Style("secondary", "○"),
    Status.INCOMPLETE: Style("secondary", "◔"),
    Status.ALREADY_MET: Style("success", "✔"),
    Status.ON_TRACK: Style("success", "✓"),
    Status.AT_RISK: Style("warning", "⚠"),
    Status.BEHIND: Style("danger", "▼"),
    Status.EXCEEDED: Style("primary", "▲"),
    Status.MET: Style("success", "✓"),
    Status.NOT_MET: Style("danger", "✗"),
}

TASK_STYLE: dict[TaskStatus, Style] = {
    TaskStatus.DONE: Style("success", "✓"),
    TaskStatus.IN_PROGRESS: Style("primary", "►"),
    TaskStatus.DELAYED: Style("danger", "▼"),
    TaskStatus.NOT_STARTED: Style("secondary", "○"),
}

# A task with no approved update up to the period.
NO_UPDATE = Style("light", "–")
NO_UPDATE_LABEL = "Chưa có cập nhật"

REPORT_STYLE: dict[ReportState, Style] = {
    ReportState.MISSING: Style("danger", "✗"),
    ReportState.LATE: Style("warning", "⚠"),
    ReportState.UNDATED: Style("secondary", "✓"),
    ReportState.ON_TIME: Style("success", "✓"),
    ReportState.NOTHING_DUE: Style("secondary", "–"),
}

# The three vocabularies share no value, so one lookup serves them all, by member or
# by value ("at_risk", "done", "late"); reports/tests/test_presentation.py checks it.
STYLES: dict[str, Style] = {**STATUS_STYLE, **TASK_STYLE, **REPORT_STYLE}


def style_of(status) -> Style:
    """The style of a verdict status, a task status or a body's report state."""
    return STYLES[status]


def task_style(update) -> tuple[str, str, str]:
    """(colour, icon, label) of a task's latest update, or of its having none."""
    if update is None:
        return (*NO_UPDATE, NO_UPDATE_LABEL)
    return (*TASK_STYLE[update.status], update.get_status_display())


def task_styles() -> list[tuple[str, str, str]]:
    """Every (colour, icon, label) a task row can show, in the order of the counts:
    no update first, then the statuses from done to not started."""
    return [(*NO_UPDATE, NO_UPDATE_LABEL)] + [
        (*style, TaskStatus(s).label) for s, style in TASK_STYLE.items()
    ]


@functools.cache
def status_badge(status, extra: str = "") -> str:
    """The status as a badge: icon (hidden from screen readers) and words. Nine
    statuses: each badge is built once."""
    status = Status(status)
    colour, icon = STATUS_STYLE[status]
    return format_html(
        '<span class="badge status text-bg-{}{}"><span aria-hidden="true">{}</span> '
        "{}</span>",
        colour,
        f" {extra}" if extra else "",
        icon,
        status.label,
    )


def progress_bar(percent: Decimal, status) -> str:
    """A small bar filled to percent (0–100), coloured by status, named in words;
    the row prints the number beside it. SVG attributes, so no inline style."""
    status = Status(status)
    return format_html(
        '<svg class="pbar" viewBox="0 0 100 8" preserveAspectRatio="none" '
        'role="img" aria-label="{}% kế hoạch"><rect class="pbar-track" width="100" '
        'height="8" rx="2"/><rect class="fill-{}" width="{}" height="8" rx="2"/>'
        "</svg>",
        format_decimal(percent),
        STATUS_STYLE[status].colour,
        str(percent),
    )


def stack_segments(counts) -> list[tuple[str, str, str, str]]:
    """(x, width, colour, words) of each status present in the counts, in the order
    of the summary: the share of the targets in percent (0–100) laid end to end."""
    x = Decimal(0)
    parts = []
    for status in SUMMARY_ORDER:
        n = counts[status]
        if not n:
            continue
        width = (Decimal(n) * HUNDRED / counts.total).quantize(PERCENT_QUANTUM)
        colour = STATUS_STYLE[status].colour
        parts.append((str(x), str(width), colour, f"{status.label}: {n}"))
        x += width
    return parts


def override_mark(progress) -> str:
    """(*) beside a verdict the approver set: the reason in its title (hover) and in
    a <details> that opens on a tap (phones have no hover; no script). '' when the
    verdict shown is the computed one."""
    words = override_words(progress)
    if not words:
        return ""
    sentence = words[:1].upper() + words[1:]
    return format_html(
        '<details class="override"><summary title="{}">'
        '<span aria-hidden="true">(*)</span>'
        '<span class="visually-hidden">Đánh giá của người phê duyệt, xem lý do'
        "</span></summary>"
        '<span class="override-note">(*) {}</span></details>',
        sentence,
        sentence,
    )


# --- one target's row, formatted once ------------------------------------------------


@dataclass(frozen=True)
class TargetLine:
    """What a target's row on the dashboard and the scorecards shows, formatted in
    Python once rather than piece by piece in the template (the dashboard renders
    every target of the resolution)."""

    item: TargetProgress
    url: str | None
    value: str
    plan: str
    versus: str
    badge: str
    bar: str
    override: str = ""  # the approver's mark and reason (override_mark), or ""

    @property
    def target(self):
        return self.item.target

    @property
    def status(self) -> str:
        return self.item.progress.status.value

    @property
    def lead(self) -> str:
        lead = self.item.lead
        return lead.name if lead else "chưa phân công"

    @property
    def lead_name(self) -> str:
        return lead_name(self.item)


def _escaped(text) -> str:
    """conditional_escape() for the rows below, without the lazy-text wrapper Django's
    escape() spends most of its time in (nothing here is a lazy translation): the
    same html.escape, and safe HTML (a badge, a bar) as it is."""
    if hasattr(text, "__html__"):
        return text.__html__()
    return html.escape(str(text))


def _html(template: str, **parts) -> str:
    """format_html(template, **parts), escaping with _escaped: a page formats one of
    these per target."""
    return mark_safe(template.format(**{k: _escaped(v) for k, v in parts.items()}))


# A target's cells in a table of targets (the dashboard, a body's card), formatted
# here rather than by a template included once per row: the same escaping without a
# template's per-variable lookups. The leading and trailing newlines are those the
# include this replaces printed.
TARGET_CELLS = (
    '\n        <td class="code">{code}</td>'
    '\n        <td class="name">{name}<div class="small text-muted">{note_label}: '
    "{note}</div></td>"
    '\n        <td class="num val"><span class="m-label">Thực hiện</span>{value}</td>'
    '\n        <td class="{plan_class}"><span class="m-label">Kế hoạch</span>{plan}'
    '<span class="m-unit">{unit_after}</span></td>'
    '\n        <td class="unit">{unit}</td>'
    '\n        <td class="num pct"><span class="m-label">So với KH</span>{versus}</td>'
    '\n        <td class="st">{badge}{override}</td>'
    '\n        <td class="bar">{bar}</td>\n'
)


def target_cells(line: TargetLine, note_label: str, note: str, plan_class: str):
    """The row's cells: its code, its name (linked when line.url), the line under the
    name (note_label: note), its value, plan (plan_class: the plan cell's classes),
    unit, % of plan or gap, badge and bar."""
    target = line.item.target
    name = (
        _html('<a href="{url}">{name}</a>', url=line.url, name=target.name)
        if line.url
        else target.name
    )
    return _html(
        TARGET_CELLS,
        code=target.code,
        name=name,
        note_label=note_label,
        note=note,
        value=line.value,
        plan_class=plan_class,
        plan=line.plan,
        unit_after=unit_suffix(target.unit),
        unit=target.unit,
        versus=line.versus,
        badge=line.badge,
        override=line.override,
        bar=line.bar,
    )


def dashboard_rows(lines) -> str:
    """The dashboard's rows of an indicator's targets, as its template's loop printed
    them (the whitespace included): id and status on the row, the lead under the
    name."""
    return mark_safe(
        "".join(
            f'\n      <tr id="ct-{line.target.pk}" data-status="{line.status}">\n'
            f"        {target_cells(line, 'Chủ trì', line.lead, 'num')}\n"
            "      </tr>\n      "
            for line in lines
        )
    )


def body_rows(pairs) -> str:
    """A body card's rows, (line, the body's assignment) each, as its template's loop
    printed them: the body's role under the name."""
    return mark_safe(
        "".join(
            f'\n      <tr data-status="{line.status}" data-target="{line.target.pk}">'
            f"\n        {target_cells(line, 'Vai trò', role.lower(), 'num plan')}\n"
            "      </tr>\n    "
            for line, role in ((line, a.get_role_display()) for line, a in pairs)
        )
    )


TASK_ITEM = (
    '<li><span class="badge text-bg-{colour}"><span aria-hidden="true">{icon}</span> '
    "{label}</span> <strong>{kind} {number}</strong> ({role}): {summary}</li>"
)


def task_items(pairs) -> str:
    """A body card's tasks, (TaskStanding, the body's role) each, as its template's
    loop printed them: the style's badge, the task's kind and number, the role."""
    items = []
    for row, role in pairs:
        colour, icon, label = row.style
        items.append(
            _html(
                TASK_ITEM,
                colour=colour,
                icon=icon,
                label=label,
                kind=row.task.get_kind_display(),
                number=row.task.number,
                role=str(role).lower(),
                summary=row.task.summary,
            )
        )
    return mark_safe("".join(items))


# A target's row in the comparison report's table (the report page, its PDF, the
# public report), formatted here for the same reason as TARGET_CELLS.
REPORT_ROW = (
    '<tr class="r-target{overridden}" data-code="{code}" data-status="{status}">'
    '\n        <td class="tt">{tt}</td>'
    "\n        <td>{name}</td>"
    '\n        <td class="unit">{unit}</td>'
    '\n        <td class="n">{plan}</td>'
    "\n        {quarters}"
    '\n        <td class="n">{estimate}</td>'
    '\n        <td class="n">{percent}</td>'
    '\n        <td class="n">{gap}</td>'
    '\n        <td class="verdict"{title}>{verdict}</td>'
    "\n      </tr>"
)
QUARTER_CELL = '<td class="n">{}{}</td>'
ESTIMATED_MARK = mark_safe(' <abbr title="Số ước thực hiện">(ư)</abbr>')


def report_row(row) -> str:
    """A target row of the report (reports.comparison.Row) as table HTML: its
    numbers in Vietnamese form, each quarter's figure marked (ư) when entered as an
    estimate, the verdict titled with the approver's words when overridden."""
    overridden = row.overridden
    title = ""
    if overridden:
        words = row.override_words
        title = _html(' title="{words}"', words=words[:1].upper() + words[1:])
    return _html(
        REPORT_ROW,
        overridden=" overridden" if overridden else "",
        code=row.code,
        status=row.status.value,
        tt=row.tt,
        name=row.name,
        unit=row.unit,
        plan=_number(row.plan, row.plan_places),
        quarters=mark_safe("".join(_quarter_cell(v, est) for v, est in row.cells)),
        estimate=_number(row.estimate),
        percent="" if row.percent is None else format_decimal(row.percent) + "%",
        gap=signed(row.gap),
        title=title,
        verdict=row.verdict_label,
    )


def _quarter_cell(value, estimated: bool) -> str:
    mark = ESTIMATED_MARK if estimated and value is not None else ""
    return QUARTER_CELL.format(_escaped(_number(value)), mark)


def _number(value, places: int | None = None) -> str:
    """{{ value|vn_number }}: '' for None."""
    return "" if value is None else format_decimal(value, places)


def signed(value) -> str:
    """A gap with its sign: +0,51, -1,5, 0; '' for None."""
    if value is None:
        return ""
    text = format_decimal(value)
    return f"+{text}" if value > 0 else text


def versus_plan(item: TargetProgress) -> str:
    """ "76,33%" for at-least and above targets, else the gap with its sign and unit
    ("+0,51 %"), "–" without data."""
    p = item.progress
    if p.percent_of_plan is not None:
        return format_decimal(p.percent_of_plan) + "%"
    if p.gap is not None:
        unit = item.target.unit
        gap = format_decimal(p.gap)
        text = f"{'+' if p.gap > 0 else ''}{gap}"
        # No space before a percent sign: "+0,51%".
        return f"{text}{unit}" if unit.startswith("%") else f"{text} {unit}"
    return "–"


def _estimated(progress) -> str:
    """' (ước)' when the latest figure counted was entered as an estimate."""
    if progress.used and progress.used[-1][0] in progress.estimated:
        return " (ước)"
    return ""


def target_line(item: TargetProgress, url: str | None) -> TargetLine:
    p = item.progress
    return TargetLine(
        item=item,
        url=url,
        value="–" if p.value is None else format_decimal(p.value) + _estimated(p),
        plan=item.target.plan_text,
        versus=versus_plan(item),
        badge=status_badge(p.status),
        bar=progress_bar(bar_percent(item), p.status),
        override=override_mark(p),
    )


def target_lines(
    items, url_name: str, period, linkable: set[int] | None = None
) -> dict[int, TargetLine]:
    """{target id: its row, formatted}, linked to the target's page (url_name, which
    takes the target id) at the period, when `linkable` is None or holds it."""
    # reverse() once: at about 60 µs a call it would cost milliseconds per page.
    prefix = reverse(url_name, args=[1]).removesuffix("1/")
    lines = {}
    for item in items:
        pk = item.target.pk
        may_open = linkable is None or pk in linkable
        url = f"{prefix}{pk}/?ky={period.pk}" if may_open else None
        lines[pk] = target_line(item, url)
    return lines
