"""What each row of the entry page shows: a target's figure for the quarter with
its evidence, the earlier quarters, the status from the one judgement, the flags
and what the clerk typed when a POST was refused; a task's update likewise."""

from django.db.models import Count
from django.urls import reverse
from django.utils.html import conditional_escape as esc
from django.utils.safestring import mark_safe

from . import evidence as evidence_files
from .models import (
    Assessment,
    Evidence,
    Figure,
    FigureKind,
    TaskUpdate,
    WorkflowState,
)
from .numbers import format_decimal, format_decimal_input
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
    links = {
        "history": url_maker("targets:history"),
        "evidence": url_maker("targets:evidence"),
        "evidence_file": url_maker("targets:evidence_file"),
    }
    rows = [
        _figure_entry(period, target, stored, posted.get(pk), plan, is_open, confirmed)
        for pk, target in targets.items()
    ]
    for row in rows:
        _display(row, links)
    rows.sort(key=_returned_first)
    return rows


def url_maker(name: str):
    """The URL of `name` for any id, reversed once: the page builds every row's
    link from it instead of reversing per row."""
    marker = "2147483647"
    prefix, suffix = reverse(name, args=[int(marker)]).split(marker)
    return lambda pk: f"{prefix}{pk}{suffix}"


def _display(row: dict, links: dict) -> None:
    """The row's text the template prints as is, built once here: the plan and
    status line, the earlier quarters (summary and list) with the working, the
    links. The markup is templates/targets/entry.html's, escaped as it escapes."""
    t, f, pr = row["target"], row["figure"], row["progress"]
    unit = esc(t.unit)
    # The status badge between the two is the template's: how a status looks is
    # reports.presentation's, reached through its filters (targets imports no reports).
    row["plan_html"] = mark_safe(
        f"Kế hoạch: {esc(t.get_comparison_display())} <strong>{esc(t.plan_text)}"
        f"</strong> {unit}\n      · "
    )
    meta = ""
    if pr.is_overridden and pr.is_final:
        reason = esc(pr.override_reason)
        meta += (
            f' <abbr title="Đánh giá của người phê duyệt. Lý do: {reason}">(*)</abbr>'
            f' <span class="small">Đánh giá của người phê duyệt – {reason}</span>'
        )
    meta += "\n      "
    if t.combine == "sum" and pr.value is not None:
        meta += f"· Lũy kế: <strong>{esc(format_decimal(pr.value))}</strong>"
    meta += "\n      "
    if pr.estimate is not None and not pr.is_final:
        meta += f"· Ước cả năm: {esc(format_decimal(pr.estimate))}"
    meta += "\n      "
    if f:
        meta += f"· <strong>{esc(f.get_state_display())}</strong>"
        if f.is_demo:
            meta += ' <span class="badge demo-badge">dữ liệu minh họa</span>'
    row["meta_html"] = mark_safe(meta + "\n    ")
    row["earlier_html"] = mark_safe(_earlier(row["earlier"], unit, pr.working))
    row["history_url"] = links["history"](t.pk)
    row["evidence_url"] = links["evidence"](f.pk) if f else ""
    row["file_links"] = [
        (item, links["evidence_file"](item.pk)) for item in row["files"]
    ]


def _earlier(earlier: list, unit: str, working) -> str:
    """The earlier quarters' fold: "Q1 12; Q2 –" in the summary, one line each
    with its state and note in the list, then the working."""
    if not earlier:
        return ""
    summary, items = [], []
    for q, ef in earlier:
        if ef:
            value = esc(format_decimal(ef.value))
            estimate = " (ước)" if ef.kind == "estimate" else ""
            summary.append(f"Q{q[1]} {value}{estimate}")
            note = f": {esc(ef.note)}" if ef.note else ""
            items.append(
                f"<li>Quý {q[1]}/{q[0]}: {value} {unit}{estimate} – "
                f"{esc(ef.get_state_display().lower())}{note}</li>"
            )
        else:
            summary.append(f"Q{q[1]} –")
            items.append(f"<li>Quý {q[1]}/{q[0]}: chưa có số liệu</li>")
    lines = "".join(f'<p class="mb-1 text-muted">{esc(line)}</p>' for line in working)
    return (
        '<details class="figure-meta">\n      <summary>Các quý trước: '
        + "; ".join(summary)
        + '</summary>\n      <ul class="mb-1">'
        + "".join(items)
        + "</ul>\n      "
        + lines
        + "\n    </details>"
    )


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
