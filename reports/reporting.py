"""Who has reported for a period, what is missing at a quarter's close, how full a
target's bar is and how an override reads: plain functions over what the progress
loader returned. How it all looks (styles, badges, a target's row) is in
reports.presentation."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import models
from django.utils import timezone

from targets.models import Comparison, PeriodState, ReportingPeriod, WorkflowState
from targets.numbers import round_to
from targets.progress import TargetProgress
from targets.progress_load import SENT_STATES, ResolutionProgress
from targets.reading import HUNDRED


class ReportState(models.TextChoices):
    """Where a lead body's reporting for a period stands (BodyReport.state); its
    colour and icon are in reports.presentation."""

    MISSING = "missing", "Chưa báo cáo đủ"
    LATE = "late", "Báo cáo trễ hạn"
    UNDATED = "undated", "Đã báo cáo (không ghi thời điểm gửi)"
    ON_TIME = "on_time", "Báo cáo đúng hạn"
    NOTHING_DUE = "nothing_due", "Không có chỉ tiêu phải báo cáo"


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
    def state(self) -> ReportState:
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
    def label(self) -> str:
        return self.state.label

    @property
    def has_reported(self) -> bool:
        return self.state != ReportState.MISSING


@dataclass(frozen=True)
class Sent:
    """The figures sent for the selected period ({target id: submitted_at}) and when
    the approved figures up to it last changed."""

    at: dict[int, datetime.datetime | None]
    last_update: datetime.datetime | None


def sent_figures(progress: ResolutionProgress) -> Sent:
    """From the figures the progress loader read (those up to the period that count
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
    ) in progress.figures:
        if state not in SENT_STATES:  # sent: reported, waiting or approved
            continue
        if period_id == progress.period.pk:
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


def by_area_and_indicator(things, target_of) -> dict[str, dict[object, list]]:
    """{area: {indicator: [thing]}}, each list in the order the things come;
    target_of(thing) is the thing's target."""
    groups: dict[str, dict[object, list]] = {}
    for thing in things:
        indicator = target_of(thing).indicator
        groups.setdefault(indicator.area, {}).setdefault(indicator, []).append(thing)
    return groups


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
    return round_to(ratio, 1)


# --- overrides, in words -----------------------------------------------------------


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
