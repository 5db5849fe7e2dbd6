from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from . import evidence as evidence_files
from . import rules
from .forms import (
    AssessmentForm,
    EvidenceForm,
    ReasonForm,
)
from .models import (
    Evidence,
    Figure,
    PeriodState,
    ReportingPeriod,
    Resolution,
    Target,
    WorkflowState,
)
from .overview import overview
from .periods import period_set_state
from .services import (
    WorkflowError,
    assessment_save,
    figure_reopen,
)


def resolution_overview(request):
    """The resolution as adopted: header, legal bases, Mục tiêu chung, its indicators
    and targets by area, section 3 in the text's order (Nhiệm vụ, then Giải pháp),
    and Articles 2–3; every target and task with the bodies Article 2 charges and
    the leads we assume (targets.overview). Four queries whatever the size."""
    resolutions = list(Resolution.objects.select_related("commune"))
    if not resolutions:
        return render(request, "targets/home.html", {"resolution": None})
    chosen = request.GET.get("nq", "")
    if chosen:
        if not chosen.isdigit():
            raise Http404("Không có nghị quyết này.")
        resolution = get_object_or_404(Resolution, pk=chosen)
    else:
        resolution = resolutions[0]
    context = overview(resolution) | {"resolutions": resolutions}
    return render(request, "targets/home.html", context)


# --- administrator and approver actions --------------------------------------------


@require_POST
def figure_reopen_view(request, figure_id):
    if not rules.is_admin(request.user):
        raise Http404
    figure = get_object_or_404(Figure, pk=figure_id)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Mở lại số liệu phải nêu lý do.")
    else:
        try:
            figure_reopen(
                user=request.user, figure=figure, reason=form.cleaned_data["reason"]
            )
            messages.success(
                request, "Đã mở lại số liệu; cán bộ có thể sửa và gửi lại."
            )
        except WorkflowError as exc:
            messages.error(request, str(exc))
    return redirect("targets:history", figure.target_id)


@require_POST
def period_state_view(request, period_id):
    period = get_object_or_404(ReportingPeriod, pk=period_id)
    state = request.POST.get("state")
    may = {PeriodState.OPEN: rules.is_admin, PeriodState.CLOSED: rules.is_approver}
    if state not in may or not may[state](request.user):
        raise Http404
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(
            request,
            "Khóa sổ hoặc mở lại kỳ phải nêu lý do: ghi lý do vào ô “Lý do” rồi bấm "
            "lần nữa.",
        )
        return redirect("targets:review_period", period.pk)
    try:
        period = period_set_state(
            user=request.user,
            period=period,
            state=state,
            reason=form.cleaned_data["reason"],
            confirm_missing=request.POST.get("confirm_missing") == "1",
        )
    except WorkflowError as exc:
        messages.error(request, str(exc))
    else:
        # Said from the period as it now stands (period_set_state returns it).
        done = "Đã khóa sổ" if period.state == PeriodState.CLOSED else "Đã mở lại"
        messages.success(
            request,
            f"{done} {period}. Trạng thái kỳ bây giờ: "
            f"{period.get_state_display().lower()}.",
        )
    return redirect("targets:review_period", period.pk)


@require_POST
def assessment_view(request, target_id, period_id):
    if not rules.is_approver(request.user):
        raise Http404
    target = get_object_or_404(Target, pk=target_id)
    period = get_object_or_404(
        ReportingPeriod, pk=period_id, commune=target.indicator.resolution.commune
    )
    form = AssessmentForm(request.POST)
    if form.is_valid():
        try:
            assessment_save(
                user=request.user,
                target=target,
                period=period,
                verdict=form.cleaned_data["verdict"],
                reason=form.cleaned_data["reason"],
            )
        except WorkflowError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Đã ghi đánh giá của người phê duyệt.")
    else:
        messages.error(request, "Chưa ghi: chọn đánh giá và nêu lý do.")
    return redirect(reverse("reports:target", args=[target.pk]) + f"?ky={period.pk}")


# --- audit trail --------------------------------------------------------------------


def history(request, target_id):
    target = get_object_or_404(
        rules.visible_targets(request.user).select_related("indicator"),
        pk=target_id,
    )
    if not rules.can_see_history(request.user):
        raise Http404
    records = list(
        Figure.history.filter(target_id=target.pk)
        .select_related("history_user", "period")
        .order_by("history_date", "history_id")
    )
    # Each record beside the one before it for the same figure: old → new.
    last_of = {}
    entries = []
    for record in records:
        entries.append({"record": record, "prev": last_of.get(record.id)})
        last_of[record.id] = record
    entries.reverse()
    return render(
        request,
        "targets/history.html",
        {
            "target": target,
            "entries": entries,
            "can_reopen": rules.is_admin(request.user),
            "approved": Figure.objects.filter(
                target=target, state=WorkflowState.APPROVED
            ).select_related("period"),
            "reason_form": ReasonForm(),
        },
    )


# --- evidence ---------------------------------------------------------------------


def evidence(request, figure_id):
    """A figure's evidence: the list, an upload form and a remove button for each
    file while the figure may still change (draft or returned, period open). The
    entry card does the same in the entry form's own save."""
    figure = get_object_or_404(
        Figure.objects.select_related("target", "period").filter(
            target__in=rules.visible_targets(request.user)
        ),
        pk=figure_id,
    )
    can_upload = rules.editable_targets(request.user).filter(
        pk=figure.target_id
    ).exists() and evidence_files.removable(
        figure, figure.period.is_open_for_entry(timezone.localdate())
    )
    form = EvidenceForm()
    if request.method == "POST":
        if not can_upload:
            raise Http404
        if request.POST.get("remove", ""):
            return _evidence_remove(request, figure, request.POST["remove"])
        form = EvidenceForm(request.POST, request.FILES)
        if form.is_valid() and _evidence_attach(request, figure, form):
            return redirect("targets:evidence", figure.pk)
    return render(
        request,
        "targets/evidence.html",
        {
            "figure": figure,
            "files": figure.evidence.select_related("uploaded_by"),
            "form": form,
            "can_upload": can_upload,
            "max_mb": settings.EVIDENCE_MAX_BYTES // (1024 * 1024),
        },
        status=400 if form.errors else 200,
    )


def _evidence_remove(request, figure, removing: str):
    if not removing.isdigit() or len(removing) > 12:
        raise Http404
    item = get_object_or_404(figure.evidence, pk=int(removing))
    with transaction.atomic():
        evidence_files.remove(request.user, item)
    messages.success(request, f"Đã xóa minh chứng “{item.original_name}”.")
    return redirect("targets:evidence", figure.pk)


def _evidence_attach(request, figure, form) -> bool:
    """Attach the uploaded file; False with the reason on the form if refused."""
    try:
        evidence_files.attach(request.user, figure, form.cleaned_data["file"])
    except evidence_files.EvidenceError as exc:
        form.add_error("file", str(exc))
        return False
    messages.success(request, "Đã tải lên minh chứng.")
    return True


def evidence_file(request, evidence_id):
    item = get_object_or_404(
        Evidence.objects.filter(figure__target__in=rules.visible_targets(request.user)),
        pk=evidence_id,
    )
    response = FileResponse(
        item.file.open("rb"),
        as_attachment=True,
        filename=item.original_name,
        content_type=item.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
