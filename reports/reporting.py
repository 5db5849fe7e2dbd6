"""Who has reported for a period, and how a target's row reads: plain functions over
what the progress loader returned, plus one query for the period's figures."""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone
from django.utils.html import format_html

from targets.models import Comparison, PeriodState, ReportingPeriod, WorkflowState
from targets.numbers import format_decimal
from targets.progress import (
    SENT_STATES,
    ProgressRows,
    ResolutionProgress,
    Status,
    TargetProgress,
)

HUNDRED = Decimal(100)

# A figure counts as reported once the clerk has sent it: waiting for approval or
# approved. Drafts and returned figures have not been reported.
REPORTED = SENT_STATES


class ReportState:
    MISSING = "missing"
    LATE = "late"
    UNDATED = "undated"
    ON_TIME = "on_time"
    NOTHING_DUE = "nothing_due"


REPORT_LABELS = {
    ReportState.MISSING: ("danger", "✗", "Chưa báo cáo đủ"),
    ReportState.LATE: ("warning", "⚠", "Báo cáo trễ hạn"),
    ReportState.UNDATED: ("secondary", "✓", "Đã báo cáo (không ghi thời điểm gửi)"),
    ReportState.ON_TIME: ("success", "✓", "Báo cáo đúng hạn"),
    ReportState.NOTHING_DUE: ("secondary", "–", "Không có chỉ tiêu phải báo cáo"),
}


@dataclass
class BodyReport:
    """A lead body's reporting for one period: the targets it leads whose window
    includes the period (due), those without a sent figure (missing), those sent
    after the deadline (late) and those sent with no recorded time (undated: loaded
    by an import or the demo rather than submitted through the portal)."""

    body: object
    deadline: datetime.date
    due: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    late: list = field(default_factory=list)
    undated: list = field(default_factory=list)

    @property
    def state(self) -> str:
        if not self.due:
            return ReportState.NOTHING_DUE
        if self.missing:
            return ReportState.MISSING
        if self.late:
            return ReportState.LATE
        if self.undated:
            return ReportState.UNDATED
        return ReportState.ON_TIME

    @property
    def colour(self) -> str:
        return REPORT_LABELS[self.state][0]

    @property
    def icon(self) -> str:
        return REPORT_LABELS[self.state][1]

    @property
    def label(self) -> str:
        return REPORT_LABELS[self.state][2]

    @property
    def has_reported(self) -> bool:
        return self.state != ReportState.MISSING


@dataclass(frozen=True)
class Sent:
    """The figures sent for the selected period ({target id: submitted_at}) and when
    the approved figures up to it last changed."""

    at: dict[int, datetime.datetime | None]
    last_update: datetime.datetime | None


def sent_figures(rows: ProgressRows) -> Sent:
    """From the figures the progress loader fetched (those up to the period that count
    or were sent): no query of its own."""
    at: dict[int, datetime.datetime | None] = {}
    last_update = None
    for (
        target_id,
        period_id,
        _,
        _,
        _,
        state,
        submitted,
        approved,
        saved,
        *_,
    ) in rows.figures:
        if state not in REPORTED:
            continue
        if period_id == rows.period.pk:
            at[target_id] = submitted
        if state == WorkflowState.APPROVED:
            # Figures loaded by an import or the demo carry no approval time.
            changed = approved or saved
            if last_update is None or changed > last_update:
                last_update = changed
    return Sent(at=at, last_update=last_update)


def body_reports(
    progress: ResolutionProgress, sent: dict[int, datetime.datetime | None]
) -> dict[object, BodyReport]:
    """One BodyReport per lead body, ordered by body name."""
    period: ReportingPeriod = progress.period
    reports: dict[object, BodyReport] = {}
    for item in progress.items:
        lead = item.lead
        if lead is None:
            continue
        report = reports.setdefault(lead, BodyReport(lead, period.deadline))
        start, end = item.target.window
        if not start <= period.key <= end:
            continue
        report.due.append(item.target)
        if item.target.pk not in sent:
            report.missing.append(item.target)
            continue
        submitted_at = sent[item.target.pk]
        if submitted_at is None:
            report.undated.append(item.target)
        elif timezone.localtime(submitted_at).date() > period.deadline:
            report.late.append(item.target)
    return dict(sorted(reports.items(), key=lambda kv: (kv[0].name, kv[0].pk)))


def missing_at_close(progress: ResolutionProgress) -> list[TargetProgress]:
    """Once the selected quarter is closed, its targets due in it (the quarter lies in
    their window) that have no approved figure for it, in the resolution's order:
    what closing it warned about (targets.reminders.missing_figures, the same
    reading), read from the one judgement (the quarter is among the progress's
    missing ones), so no query and nothing a kept page or file could disagree with.
    While the quarter is open, nothing: figures are still coming in."""
    period = progress.period
    if period.state != PeriodState.CLOSED:
        return []
    return [i for i in progress.items if period.key in i.progress.missing]


# targets.reminders' words for a target no body leads.
NO_LEAD = "chưa phân công đơn vị chủ trì"


def lead_name(item: TargetProgress) -> str:
    lead = item.lead
    return lead.name if lead else NO_LEAD


def bar_percent(item: TargetProgress) -> Decimal:
    """How full a target's bar is, 0–100: the share of the plan reached for at-least
    and above targets; for at-most targets the plan over the value (full once the
    value is at or under the cap); for maintain targets the lowest period over the
    plan. No data: 0."""
    p = item.progress
    target = item.target.target_value
    if p.value is None:
        return Decimal(0)
    comparison = item.target.comparison
    if comparison == Comparison.AT_MOST:
        ratio = HUNDRED if p.value <= target else target / p.value * HUNDRED
    elif comparison == Comparison.MAINTAIN:
        ratio = HUNDRED if target <= 0 else p.lowest / target * HUNDRED
    elif p.percent_of_plan is not None:
        ratio = p.percent_of_plan
    else:
        ratio = HUNDRED if p.value >= target else Decimal(0)
    ratio = max(Decimal(0), min(HUNDRED, ratio))
    return ratio.quantize(Decimal("0.1"), ROUND_HALF_UP)


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


@functools.cache
def status_badge(status, extra: str = "") -> str:
    """The status as a badge: icon (hidden from screen readers) and words. Eight
    statuses: each badge is built once."""
    status = Status(status)
    return format_html(
        '<span class="badge status text-bg-{}{}"><span aria-hidden="true">{}</span> '
        "{}</span>",
        status.colour,
        f" {extra}" if extra else "",
        status.icon,
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
        status.colour,
        str(percent),
    )


def _estimated(progress) -> str:
    """' (ước)' when the latest figure counted was entered as an estimate."""
    if progress.used and progress.used[-1][0] in progress.estimated:
        return " (ước)"
    return ""


def is_overridden(progress) -> bool:
    """The approver's verdict is the year's result shown: an override recorded before
    every quarter is in changes nothing shown (targets.progress.evaluate)."""
    return progress.is_final and progress.is_overridden


def override_words(progress) -> str:
    """'người phê duyệt đánh giá Đạt (kết quả tính toán: Không đạt). Lý do: …', the
    one wording of an override on every page and file; '' when there is none."""
    if not is_overridden(progress):
        return ""
    computed = progress.computed_verdict
    return (
        f"người phê duyệt đánh giá {progress.override.label} (kết quả tính toán: "
        f"{computed.label if computed else 'chưa có'}). Lý do: "
        f"{progress.override_reason}"
    )


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
