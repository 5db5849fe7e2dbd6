"""What each row of the entry page shows: a target's figure for the quarter with
its evidence, the earlier quarters, the status from the one judgement, the flags
and what the clerk typed when a POST was refused; a task's update likewise."""

from django.db.models import Count

from . import evidence as evidence_files
from .models import (
    Assessment,
    Evidence,
    Figure,
    FigureKind,
    TaskUpdate,
    WorkflowState,
)
from .numbers import format_decimal_input
from .plausibility import flags_for
from .progress import TargetSpec, evaluate
from .validation import CONFIRM_TEXT, OPEN_STATES, explanation_needed


def figure_entries(
    period, targets, posted_rows, plan=None, is_open=True, confirmed=()
) -> list[dict]:
    """One row per target, returned ones first: its figure for the period with its
    evidence, the earlier quarters, the status from the one judgement (with the
    clerk's own figures, estimates marked), the plausibility flags and whether an
    explanation will be needed at submit, and what the clerk typed if the POST was
    refused. At most three queries whatever the number of targets."""
    stored = _stored(period, targets)
    posted = {r.target_id: r for r in posted_rows or []}
    rows = [
        _figure_entry(period, target, stored, posted.get(pk), plan, is_open, confirmed)
        for pk, target in targets.items()
    ]
    rows.sort(key=_returned_first)
    return rows


def _returned_first(row: dict) -> bool:
    return row["state"] != WorkflowState.RETURNED


def _stored(period, targets) -> dict:
    """The three reads behind the rows: every quarter's figure of each target (with
    its evidence count), this quarter's evidence files (when there are any), the
    approver's overrides."""
    by_target: dict = {}
    for f in (
        Figure.objects.filter(target_id__in=targets, period__commune=period.commune_id)
        .select_related("period")
        .annotate(evidence_count=Count("evidence"))
    ):
        by_target.setdefault(f.target_id, {})[f.period.key] = f
    # The quarter's files, read only when one of its figures has any.
    with_files = [
        f.pk
        for own in by_target.values()
        if (f := own.get(period.key)) is not None and f.evidence_count
    ]
    files: dict = {}
    for item in (
        Evidence.objects.filter(figure_id__in=with_files).order_by("uploaded_at", "pk")
        if with_files
        else []
    ):
        files.setdefault(item.figure_id, []).append(item)
    overrides = {
        a.target_id: a
        for a in Assessment.objects.filter(period=period, target_id__in=targets)
    }
    return {"figures": by_target, "files": files, "overrides": overrides}


def _values(period, own: dict, typed) -> tuple[dict, set]:
    """The target's values and estimated quarters up to the period, with what the
    clerk is about to save in place of the stored figure."""
    values = {q: f.value for q, f in own.items() if q <= period.key}
    estimates = {
        q for q, f in own.items() if q <= period.key and f.kind == FigureKind.ESTIMATE
    }
    if typed is not None and typed.value is not None:
        values[period.key] = typed.value
        if typed.kind == FigureKind.ESTIMATE:
            estimates.add(period.key)
        else:
            estimates.discard(period.key)
    return values, estimates


def _messages(target, typed, plan) -> dict:
    """The row's errors: the POST's when it was refused, else what the submit
    plan asks (explanation, confirmation)."""
    if typed is not None:
        return {
            "errors": typed.all_errors,
            "value_errors": typed.errors,
            "note_errors": list(typed.note_errors),
            "confirm_errors": list(typed.confirm_errors),
            "file_errors": typed.file_errors,
        }
    note_errors = (
        [plan.explain[target.pk]] if plan and target.pk in plan.explain else []
    )
    confirm_errors = [CONFIRM_TEXT] if plan and target.pk in plan.confirm else []
    return {
        "errors": note_errors + confirm_errors,
        "value_errors": [],
        "note_errors": note_errors,
        "confirm_errors": confirm_errors,
        "file_errors": [],
    }


def _figure_entry(period, target, stored, typed, plan, is_open, confirmed) -> dict:
    spec = TargetSpec.from_model(target)
    own = stored["figures"].get(target.pk, {})
    values, estimates = _values(period, own, typed)
    current = own.get(period.key)
    editable = current is None or current.state in OPEN_STATES
    note = typed.note if typed else getattr(current, "note", "")
    needs = explanation_needed(target, values, period.key, estimates)
    override = stored["overrides"].get(target.pk)
    return {
        "target": target,
        "label": f"{target.code}. {target.name}",
        "figure": current,
        "state": getattr(current, "state", ""),
        "earlier": [(q, own.get(q)) for q in spec.window if q < period.key],
        "progress": evaluate(
            spec,
            values,
            period.key,
            override=getattr(override, "verdict", None),
            override_reason=getattr(override, "reason", ""),
            estimates=estimates,
        ),
        "posted": typed,
        **_messages(target, typed, plan),
        "flags": flags_for(target, values, period.key) if editable else [],
        "confirmed": target.pk in confirmed,
        "needs_explanation": needs,
        "explanation_missing": needs is not None and not note,
        "editable": editable,
        "files": stored["files"].get(current.pk, []) if current else [],
        "files_removable": current is not None
        and evidence_files.removable(current, is_open),
        # What the inputs show: the refused POST if any, else the stored row in
        # the form the parser reads back ("3865,28", never "3.865").
        "value_text": typed.raw_value
        if typed
        else format_decimal_input(current.value)
        if current
        else "",
        "kind": typed.kind if typed else getattr(current, "kind", FigureKind.ACTUAL),
        "note": note,
        "version": typed.version if typed else getattr(current, "version", 0),
    }


def task_entries(period, tasks, posted_rows) -> list[dict]:
    """One row per task, returned ones first."""
    updates = {
        u.task_id: u for u in TaskUpdate.objects.filter(period=period, task__in=tasks)
    }
    posted = {r.task_id: r for r in posted_rows or []}
    rows = []
    for pk, task in tasks.items():
        update, typed = updates.get(pk), posted.get(pk)
        rows.append(
            {
                "task": task,
                "label": f"{task.get_kind_display()} {task.number}",
                "update": update,
                "state": getattr(update, "state", ""),
                "posted": typed,
                "errors": typed.errors if typed else [],
                "editable": update is None or update.state in OPEN_STATES,
                "status": typed.status if typed else getattr(update, "status", ""),
                "narrative": typed.narrative
                if typed
                else getattr(update, "narrative", ""),
                "version": typed.version if typed else getattr(update, "version", 0),
            }
        )
    rows.sort(key=_returned_first)
    return rows
