"""The approver's pages: the quarters waiting, and one quarter's submitted figures
and task updates as cards to approve or return (targets.services.review_*)."""

from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from . import rules
from .forms import ReasonForm
from .models import (
    QUARTER_NAMES,
    Figure,
    FigureKind,
    PeriodState,
    ReportingPeriod,
    TaskUpdate,
    WorkflowState,
)
from .plausibility import flags_for
from .progress import TargetSpec, evaluate
from .reminders import approver_notice, missing_figures
from .services import WorkflowError, review_approve, review_return
from .submission import quarterly_values


def review(request):
    if not rules.is_approver(request.user):
        raise Http404
    submitted = WorkflowState.SUBMITTED
    periods = ReportingPeriod.objects.annotate(
        waiting_figures=Count(
            "figures", filter=Q(figures__state=submitted), distinct=True
        ),
        waiting_tasks=Count(
            "task_updates", filter=Q(task_updates__state=submitted), distinct=True
        ),
    ).order_by("-year", "-quarter")
    return render(
        request,
        "targets/review_index.html",
        {"periods": periods, "reminders": approver_notice(timezone.localdate())},
    )


def review_period(request, period_id):
    """The approver's page for one quarter: every submitted figure as a card with
    what it takes to judge it (plan, year-to-date or latest, the status it would take
    once approved, the earlier quarters, plausibility flags), nothing ticked;
    approve or return one card, or the ticked ones. Also closing the quarter, with
    the figures still missing, and what is overdue or waiting."""
    if not rules.is_approver(request.user):
        raise Http404
    period = get_object_or_404(ReportingPeriod, pk=period_id)
    ticked_all = False
    if request.method == "POST":
        if request.POST.get("action") == "select_all":
            # "Chọn tất cả" without JavaScript: the same page, every card ticked.
            ticked_all = True
        else:
            _review_post(request, period)
            return redirect("targets:review_period", period.pk)

    return _review_page(request, period, ticked_all)


def _review_page(request, period, ticked_all: bool):
    figure_rows = _review_rows(period)
    updates = list(
        TaskUpdate.objects.filter(period=period, state=WorkflowState.SUBMITTED)
        .select_related("task", "submitted_by")
        .order_by("task__kind", "task__number")
    )
    if ticked_all:  # keep the reasons typed before "Chọn tất cả"
        for row in figure_rows:
            row["reason"] = request.POST.get(f"reason-f-{row['figure'].pk}", "")
        for update in updates:
            update.reason_typed = request.POST.get(f"reason-u-{update.pk}", "")
    return render(
        request,
        "targets/review.html",
        {
            "period": period,
            "rows": figure_rows,
            "updates": updates,
            "ticked_all": ticked_all,
            "posted": request.POST if ticked_all else {},
            "missing": missing_figures(period)
            if period.state == PeriodState.OPEN
            else [],
            "reminders": approver_notice(timezone.localdate()),
        },
    )


def _review_post(request, period) -> None:
    """Approve or return one card (its own button) or the ticked cards."""
    action, figures, updates, reason = _review_choice(request.POST)
    try:
        if not figures and not updates:
            raise WorkflowError(
                "Chưa chọn mục nào: đánh dấu ô “Chọn” của từng mục (hoặc bấm “Chọn "
                "tất cả”), hoặc dùng nút của riêng mục đó."
            )
        chosen = {"user": request.user, "period": period}
        chosen |= {"figures": figures, "updates": updates}
        if action == "approve":
            n = review_approve(**chosen)
            messages.success(request, f"Đã phê duyệt {n} mục; các mục này đã khóa.")
            return
        form = ReasonForm({"reason": reason})
        if not form.is_valid():
            raise WorkflowError(
                "Chưa trả lại: phải nêu lý do để cán bộ biết cần sửa gì. Ghi lý "
                "do vào ô “Lý do trả lại” rồi bấm trả lại lần nữa."
            )
        n = review_return(**chosen, reason=form.cleaned_data["reason"])
        messages.success(
            request,
            f"Đã trả lại {n} mục kèm lý do; cán bộ nhập liệu sẽ thấy lý do "
            "trên trang nhập số liệu.",
        )
    except WorkflowError as exc:
        messages.error(request, str(exc))


def _review_choice(post) -> tuple[str, dict, dict, str]:
    """(action, {figure id: version}, {update id: version}, reason) from a card's
    own button or from the ticked cards; 404 for what no page of ours sends."""
    one = post.get("one")
    if one is not None:
        parsed = _one(one)
        if parsed is None:
            raise Http404
        action, prefix, pk, version = parsed
        figures = {pk: version} if prefix == "f" else {}
        updates = {pk: version} if prefix == "u" else {}
        reason = post.get(f"reason-{prefix}-{pk}", "")
    else:
        figures, updates = _chosen(post, "f-"), _chosen(post, "u-")
        if figures is None or updates is None:
            raise Http404
        action, reason = post.get("action"), post.get("reason", "")
    if action not in ("approve", "return"):
        raise Http404
    return action, figures, updates, reason


def _one(value: str) -> tuple[str, str, int, int] | None:
    """A card's own button: "approve:f:12:3" → ("approve", "f", 12, 3)."""
    parts = value.split(":")
    if len(parts) != 4:
        return None
    action, prefix, pk, version = parts
    if action not in ("approve", "return") or prefix not in ("f", "u"):
        return None
    if not _id_version(pk, version):
        return None
    return action, prefix, int(pk), int(version)


def _id_version(pk: str, version: str) -> bool:
    """A row id and the version it was shown at, as the page writes them."""
    return pk.isdigit() and version.isdigit() and len(pk) <= 12 and len(version) <= 9


def _review_rows(period) -> list[dict]:
    """Each submitted figure of the period with the judgement it would take once
    approved: the approved figures of the window's earlier quarters plus this one,
    through the one judgement (progress.evaluate). Two queries for any number."""
    figures = list(
        Figure.objects.filter(period=period, state=WorkflowState.SUBMITTED)
        .select_related("target__indicator", "submitted_by")
        .annotate(evidence_count=Count("evidence"))
        .order_by("target__indicator__number", "target__order", "target__code")
    )
    earlier, estimated = quarterly_values(
        period, {f.target_id for f in figures}, approved_only=True, before=True
    )
    rows = []
    for f in figures:
        spec = TargetSpec.from_model(f.target)
        before = earlier.get(f.target_id, {})
        values = {**before, period.key: f.value}
        estimates = set(estimated.get(f.target_id, ()))
        if f.kind == FigureKind.ESTIMATE:
            estimates.add(period.key)
        rows.append(
            {
                "figure": f,
                "target": f.target,
                "progress": evaluate(spec, values, period.key, estimates=estimates),
                "previous": [
                    (QUARTER_NAMES[q[1]], q[0], before.get(q), q in estimates)
                    for q in spec.window
                    if q < period.key
                ],
                "flags": flags_for(f.target, values, period.key),
                # '%' follows a number with no space; ' tấn' with one.
                "unit": f.target.unit
                if f.target.unit.startswith("%")
                else f" {f.target.unit}",
            }
        )
    return rows


def _chosen(post, prefix) -> dict | None:
    """{id: version} of the checked rows; None when a field is malformed."""
    chosen = {}
    for name, value in post.items():
        if not name.startswith(prefix):
            continue
        pk, version = name[len(prefix) :], value
        if not _id_version(pk, version):
            return None
        chosen[int(pk)] = int(version)
    return chosen
