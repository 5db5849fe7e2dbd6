"""One check over a batch of figures, whatever the path (the entry page and the API
through targets.entry.entry_save, the submit plan, the import): what needs the stored
rows, the other quarters or the action.

A figure's own rules live on the model: the database's constraints first (one figure
per target and quarter, a value that fits, kind and state in their vocabularies),
then `Figure.own_errors` for what a constraint cannot say (the target's window,
sign, bounds and decimals; no query). `check_figures` adds, in a fixed number of
queries for any number of figures:

- the lock: `WorkflowFields.stored_lock_reason`, the one rule, fed the stored rows
  read once (or handed in by a caller that read them already, under lock);
- on submit: the explanation a figure that leaves its target behind needs
  (`submission.explanation_needed`) and the confirmation of a flagged value
  (`plausibility.flags_for`), judged with every other quarter of the target.
"""

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from django.core.exceptions import NON_FIELD_ERRORS
from django.db.models import prefetch_related_objects

from .models import (
    LOCKED_FIGURE_FIELDS,
    Comparison,
    Figure,
    FigureKind,
    Target,
    WorkflowState,
    periods_up_to,
)
from .plausibility import flags_for
from .progress import Quarter, Status, TargetSpec, evaluate, meets

CONFIRM_TEXT = (
    "Số này khác thường (xem cảnh báo): đánh dấu ô “Tôi đã kiểm tra, số liệu này "
    "đúng” để gửi duyệt."
)
NEEDS_EXPLANATION = {Status.AT_RISK, Status.BEHIND, Status.NOT_MET}
OPEN_STATES = (WorkflowState.DRAFT, WorkflowState.RETURNED)


def explanation_needed(
    target: Target,
    values: dict[Quarter, Decimal],
    period_key: Quarter,
    estimates: Collection[Quarter] = (),
) -> Status | None:
    """The status that asks the clerk to explain this quarter's figure, or None.

    The status is the one judgement (`progress.evaluate`, as the dashboard shows it)
    with this quarter's figure in. It is asked only when *this* quarter's figure leaves
    the target behind: a "Duy trì" target whose figure for the quarter holds needs no
    explanation because an earlier quarter failed (that quarter was explained then).
    """
    value = values.get(tuple(period_key))
    if value is None:
        return None
    status = evaluate(
        TargetSpec.from_model(target), values, tuple(period_key), estimates=estimates
    ).status
    if status not in NEEDS_EXPLANATION:
        return None
    if target.comparison == Comparison.MAINTAIN and meets(
        target.comparison, value, target.target_value
    ):
        return None
    return status


def explanation_text(status: Status) -> str:
    return (
        f"Với số liệu này, chỉ tiêu ở mức “{status.label}”: khi gửi duyệt phải ghi rõ "
        "nguyên nhân và giải pháp vào ô giải trình."
    )


class Action(StrEnum):
    DRAFT = "draft"  # save a value: the figure's own rules and the lock
    SUBMIT = "submit"  # send what is saved: the lock, explanation, confirmation


@dataclass
class FigureCheck:
    """What the check says of one figure.

    errors: field → messages that refuse the save (the figure's own rules on
    "value"/"period", the lock on NON_FIELD_ERRORS). On submit: explain, the status
    that asks for an explanation the note lacks; flags, every plausibility flag of
    the value (confirmed or not); unconfirmed, flagged and not confirmed."""

    errors: dict[str, list[str]] = field(default_factory=dict)
    explain: Status | None = None
    flags: list[str] = field(default_factory=list)
    unconfirmed: bool = False

    @property
    def refused(self) -> bool:
        return bool(self.errors) or self.explain is not None or self.unconfirmed

    def error_dict(
        self, *, explain_hint: str = "", confirm_text: str = CONFIRM_TEXT
    ) -> dict[str, list[str]]:
        """The refusals as a form's errors, field → messages: the explanation on
        "note", the confirmation on "confirm", the rest where `errors` has them."""
        out = {name: list(messages) for name, messages in self.errors.items()}
        if self.explain is not None:
            out.setdefault("note", []).append(
                explanation_text(self.explain) + explain_hint
            )
        if self.unconfirmed:
            out.setdefault("confirm", []).append(confirm_text)
        return out

    @property
    def messages(self) -> list[str]:
        return [m for messages in self.error_dict().values() for m in messages]


def check_figures(
    figures: Sequence[Figure],
    *,
    action: Action,
    confirmed: Collection[int] | bool = (),
    stored: Mapping[int, Figure | None] | None = None,
) -> dict[int, FigureCheck]:
    """Check `figures` (saved or not, holding the values about to be written or
    sent) for `action`. Index in `figures` → FigureCheck, for the figures with
    something to say (a refusal, or flags on submit); {} when all may go.

    `confirmed`: the target ids whose flagged value the user confirmed, or True
    when one tick confirms them all (the import). `stored`: pk → the stored row with
    its period, when the caller has read them (the entry page, under lock);
    otherwise one query reads them. On submit, one more query reads the targets'
    other quarters; figures already sent or approved are not judged again."""
    figures = list(figures)
    # Relations the rules read; no query for those the caller loaded.
    prefetch_related_objects(figures, "period", "target__indicator__resolution")
    if stored is None:
        stored = _stored(figures)
    checks: dict[int, FigureCheck] = {}
    for index, figure in enumerate(figures):
        if action == Action.SUBMIT and figure.state not in OPEN_STATES:
            continue  # already sent or approved: not sent again, not judged
        check = FigureCheck()
        if action == Action.DRAFT:
            for name, message in figure.own_errors().items():
                check.errors.setdefault(name, []).append(message)
        reason = figure.stored_lock_reason(
            LOCKED_FIGURE_FIELDS, stored=stored.get(figure.pk)
        )
        if reason:
            check.errors.setdefault(NON_FIELD_ERRORS, []).append(reason)
        checks[index] = check
    if action == Action.SUBMIT:
        _submit_rules(figures, checks, confirmed)
    return {i: c for i, c in checks.items() if c.refused or c.flags}


def _stored(figures: list[Figure]) -> dict[int, Figure]:
    pks = [f.pk for f in figures if f.pk is not None]
    if not pks:
        return {}
    return Figure.objects.select_related("period").in_bulk(pks)


def _submit_rules(
    figures: list[Figure], checks: dict[int, FigureCheck], confirmed
) -> None:
    """The explanation and the confirmation, for the figures about to be sent."""
    sending = [(i, figures[i]) for i in checks]
    if not sending:
        return
    values, estimates = _quarters(figures, [f for _, f in sending])
    for index, figure in sending:
        key = figure.period.key
        own = {q: v for q, v in values[figure.target_id].items() if q <= key}
        check = checks[index]
        status = explanation_needed(
            figure.target, own, key, estimates[figure.target_id]
        )
        if status is not None and not figure.note:
            check.explain = status
        check.flags = flags_for(figure.target, own, key)
        chosen = confirmed is True or (
            confirmed is not False and figure.target_id in confirmed
        )
        check.unconfirmed = bool(check.flags) and not chosen


def _quarters(
    figures: list[Figure], sending: list[Figure]
) -> tuple[dict[int, dict[Quarter, Decimal]], dict[int, set[Quarter]]]:
    """Every quarter of the sent figures' targets up to the latest sent one, as
    stored, then as `figures` hold them (what is about to be written wins); and the
    quarters entered as estimates (ước). One query."""
    last = max(f.period.key for f in sending)
    rows = Figure.objects.filter(
        periods_up_to(*last, prefix="period__"),
        target_id__in={f.target_id for f in sending},
    ).values_list("target_id", "period__year", "period__quarter", "value", "kind")
    values: dict[int, dict[Quarter, Decimal]] = {}
    estimates: dict[int, set[Quarter]] = {}
    for target_id, year, quarter, value, kind in rows:
        values.setdefault(target_id, {})[(year, quarter)] = value
        if kind == FigureKind.ESTIMATE:
            estimates.setdefault(target_id, set()).add((year, quarter))
    for figure in figures:
        key = figure.period.key
        values.setdefault(figure.target_id, {})[key] = figure.value
        marked = estimates.setdefault(figure.target_id, set())
        if figure.kind == FigureKind.ESTIMATE:
            marked.add(key)
        else:
            marked.discard(key)
    return values, estimates
