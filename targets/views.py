from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.db.models import Count, Prefetch, Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from . import evidence as evidence_files
from . import rules
from .entry import RowErrors, entry_save
from .forms import (
    AssessmentForm,
    BadPost,
    EvidenceForm,
    ReasonForm,
    read_confirmations,
    read_entry,
    read_files,
    read_removals,
)
from .models import (
    QUARTER_NAMES,
    Area,
    Assessment,
    Evidence,
    Figure,
    FigureKind,
    PeriodState,
    ReportingPeriod,
    Resolution,
    Target,
    TaskStatus,
    TaskUpdate,
    WorkflowState,
)
from .numbers import format_decimal_input
from .periods import period_set_state
from .plausibility import flags_for
from .progress import TargetSpec, evaluate
from .reminders import approver_notice, clerk_notice, missing_figures
from .services import (
    WorkflowError,
    assessment_save,
    figure_reopen,
    review_approve,
    review_return,
)
from .submission import quarterly_values, submit_plan
from .validation import CONFIRM_TEXT, explanation_needed


def resolution_overview(request):
    """The resolution as adopted: header, legal bases, Mục tiêu chung, its indicators
    and targets by area, section 3 in the text's order (Nhiệm vụ, then Giải pháp),
    and Articles 2–3; every target and task with the bodies Article 2 charges and
    the leads we assume. Four queries whatever the size."""
    import re

    from .models import Assignment, Role, TaskKind

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
    bodies = Prefetch(
        "assignments",
        queryset=Assignment.objects.select_related("body").order_by("body__name"),
    )
    indicators = resolution.indicators.prefetch_related(
        Prefetch(
            "targets",
            queryset=Target.objects.order_by("order", "code").prefetch_related(bodies),
        )
    )
    areas = [
        (label, [i for i in indicators if i.area == value])
        for value, label in Area.choices
    ]
    # Section 3 as the text orders it: the one Nhiệm vụ paragraph, then Giải pháp.
    tasks = sorted(
        resolution.tasks.prefetch_related(bodies),
        key=lambda t: (t.kind != TaskKind.TASK, t.number),
    )
    rank = {Role.IMPLEMENTING: 0, Role.LEAD: 1, Role.SUPPORTING: 2}

    def in_charge(item):
        """Who carries it out, the implementing committee first; supervisors are
        listed once, under Article 2."""
        found = [a for a in item.assignments.all() if a.role in rank]
        return sorted(found, key=lambda a: (rank[a.role], a.body.name))

    for item in [t for i in indicators for t in i.targets.all()] + tasks:
        item.in_charge = in_charge(item)

    # Paragraphs of the adopted text, a paragraph split by a page break joined again
    # (the second half starts in lower case).
    paragraphs: list[str] = []
    for block in re.split(r"\n\s*\n", resolution.source_text):
        block = " ".join(block.split())
        if not block:
            continue
        if paragraphs and block[0].islower():
            paragraphs[-1] += " " + block
        else:
            paragraphs.append(block)

    def between(first: str, stop: str) -> list[str]:
        """The paragraphs from the one starting with `first` to before `stop`."""
        out: list[str] = []
        for paragraph in paragraphs:
            if out and paragraph.startswith(stop):
                break
            if out or paragraph.startswith(first):
                out.append(paragraph)
        return out

    general = between("1. Mục tiêu chung", "2. Mục tiêu cụ thể")[1:]
    supervisors = sorted(
        {
            a.body
            for t in tasks
            for a in t.assignments.all()
            if a.role == Role.SUPERVISING
        }
        | {
            a.body
            for i in indicators
            for t in i.targets.all()
            for a in t.assignments.all()
            if a.role == Role.SUPERVISING
        },
        key=lambda b: (not b.named_in_text, b.name),
    )
    return render(
        request,
        "targets/home.html",
        {
            "resolution": resolution,
            "resolutions": resolutions,
            "areas": areas,
            "indicator_count": len(indicators),
            "target_count": sum(len(i.targets.all()) for i in indicators),
            "tasks": tasks,
            "legal_bases": [
                line
                for line in (
                    resolution.legal_bases + "\n" + resolution.considered
                ).splitlines()
                if line.strip()
            ],
            "general_objective": general,
            "article_2": between("Điều 2.", "Điều 3."),
            "article_3": between("Điều 3.", "Nơi nhận"),
            "supervisors": supervisors,
        },
    )


# --- data entry ---------------------------------------------------------------------


def _clerk_periods(user):
    """Periods of the communes whose targets the clerk leads."""
    communes = rules.editable_targets(user).values("indicator__resolution__commune")
    return ReportingPeriod.objects.filter(commune__in=communes).order_by(
        "-year", "-quarter"
    )


def entry(request):
    """Send the clerk to the period open for entry (the latest open one)."""
    if not rules.is_clerk(request.user):
        raise Http404
    periods = list(_clerk_periods(request.user))
    today = timezone.localdate()
    open_now = [p for p in periods if p.is_open_for_entry(today)]
    if open_now:
        return redirect("targets:entry_period", open_now[0].pk)
    if periods:
        return redirect("targets:entry_period", periods[0].pk)
    return render(request, "targets/entry_none.html")


def entry_period(request, period_id):
    if not rules.is_clerk(request.user):
        raise Http404
    period = get_object_or_404(_clerk_periods(request.user), pk=period_id)
    targets = {
        t.pk: t
        for t in rules.editable_targets(request.user)
        .filter(indicator__resolution__commune=period.commune)
        .select_related("indicator__resolution")
        .order_by("indicator__resolution", "indicator__number", "order", "code")
        .distinct()
        if t.window[0] <= period.key <= t.window[1]
    }
    tasks = {
        t.pk: t
        for t in rules.editable_tasks(request.user)
        .filter(resolution__commune=period.commune)
        .order_by("resolution", "kind", "number")
        .distinct()
    }
    today = timezone.localdate()
    is_open = period.is_open_for_entry(today)
    figure_rows = task_rows = None
    plan, confirmed = None, set()
    if request.method == "POST":
        try:
            figure_rows, task_rows = read_entry(request.POST, targets, tasks)
            files = read_files(request.FILES, targets)
        except BadPost:
            raise Http404 from None
        action = request.POST.get("action")
        confirmed = read_confirmations(request.POST, targets)
        submit = action == "submit"
        try:
            counts = entry_save(
                user=request.user,
                period=period,
                figure_rows=figure_rows,
                task_rows=task_rows,
                targets=targets,
                tasks=tasks,
                submit=submit,
                today=today,
                confirmed=confirmed,
                plan_token=request.POST.get("plan") or None,
                files=files,
                removals=read_removals(request.POST),
            )
        except WorkflowError as exc:
            messages.error(request, str(exc))
        except RowErrors as exc:
            plan = exc.plan
            messages.error(
                request,
                "Chưa lưu, chưa gửi: có ô cần sửa (danh sách ở đầu trang). Số bạn đã "
                "nhập vẫn còn trên trang.",
            )
        else:
            url = reverse("targets:entry_period", args=[period.pk])
            if submit:
                messages.success(
                    request,
                    f"Đã gửi duyệt {counts['submitted']} mục của {period}.",
                )
                return redirect(url)
            done = f"Đã lưu nháp {counts['saved']} mục thay đổi"
            if counts["attached"]:
                done += f", đính kèm {counts['attached']} minh chứng"
            if counts["removed"]:
                done += f", xóa {counts['removed']} minh chứng"
            if action != "review" or counts["saved"] or counts["attached"]:
                messages.success(request, done + ".")
            if action == "review":
                # Saved; now the confirmation of what "Gửi duyệt" will send (a GET,
                # so a reload never saves twice).
                query = "&".join(["gui=1", *(f"c={pk}" for pk in sorted(confirmed))])
                return redirect(f"{url}?{query}#gui-duyet")
            return redirect(url)
    elif request.GET.get("gui") == "1" and is_open:
        confirmed = read_confirmations(request.GET, targets)
        plan = submit_plan(period, targets, tasks, confirmed)
        if plan.ready:
            return render(
                request,
                "targets/entry_confirm.html",
                {"period": period, "plan": plan, "confirmed": sorted(confirmed)},
            )
        if not plan.send:
            messages.error(request, "Không có số liệu nào mới để gửi duyệt.")
        else:
            messages.error(
                request,
                "Chưa gửi duyệt: có mục cần bổ sung trước khi gửi (danh sách ở đầu "
                "trang). Số liệu đã được lưu nháp.",
            )

    rows = _entry_rows(period, targets, figure_rows, plan, is_open, confirmed)
    reminders = clerk_notice(request.user, today)
    task_list = _task_rows(period, tasks, task_rows)
    # After a refusal: every row that needs the clerk, returned ones first, with a
    # link to each; the page moves focus there.
    problems = [
        {"anchor": f"row-{r['target'].pk}", "label": r["label"], "errors": r["errors"]}
        for r in rows
        if r["errors"]
    ] + [
        {"anchor": f"task-{r['task'].pk}", "label": r["label"], "errors": r["errors"]}
        for r in task_list
        if r["errors"]
    ]
    return render(
        request,
        "targets/entry.html",
        {
            "period": period,
            "periods": _clerk_periods(request.user),
            "is_open": is_open,
            "rows": rows,
            "task_rows": task_list,
            "task_statuses": TaskStatus.choices,
            "evidence_accept": evidence_files.ACCEPT,
            "problems": problems,
            "reminders": reminders,
            "returned_count": sum(
                1 for r in [*rows, *task_list] if r["state"] == WorkflowState.RETURNED
            ),
        },
        status=200,
    )


def _entry_rows(period, targets, posted_rows, plan=None, is_open=True, confirmed=()):
    """One row per target, returned ones first: its figure for the period with its
    evidence, the earlier quarters, the status from the one judgement (with the
    clerk's own figures, estimates marked), the plausibility flags and whether an
    explanation will be needed at submit, and what the clerk typed if the POST was
    refused. Three queries whatever the number of targets."""
    figures = (
        Figure.objects.filter(target_id__in=targets, period__commune=period.commune)
        .select_related("period")
        .annotate(evidence_count=Count("evidence"))
    )
    by_target = {}
    for f in figures:
        by_target.setdefault(f.target_id, {})[f.period.key] = f
    files = {}
    for item in Evidence.objects.filter(
        figure__period=period, figure__target_id__in=targets
    ).order_by("uploaded_at", "pk"):
        files.setdefault(item.figure_id, []).append(item)
    overrides = {
        a.target_id: a
        for a in Assessment.objects.filter(period=period, target_id__in=targets)
    }
    posted = {r.target_id: r for r in posted_rows or []}
    explain = plan.explain if plan else {}
    confirm = plan.confirm if plan else {}
    rows = []
    for pk, target in targets.items():
        spec = TargetSpec.from_model(target)
        own = by_target.get(pk, {})
        values = {q: f.value for q, f in own.items() if q <= period.key}
        estimates = {
            q
            for q, f in own.items()
            if q <= period.key and f.kind == FigureKind.ESTIMATE
        }
        typed = posted.get(pk)
        if typed is not None and typed.value is not None:
            values[period.key] = typed.value  # what the clerk is about to save
            (estimates.add if typed.kind == FigureKind.ESTIMATE else estimates.discard)(
                period.key
            )
        current = own.get(period.key)
        earlier = [(q, own.get(q)) for q in spec.window if q < period.key]
        editable = current is None or current.state in (
            WorkflowState.DRAFT,
            WorkflowState.RETURNED,
        )
        note = typed.note if typed else getattr(current, "note", "")
        needs = explanation_needed(target, values, period.key, estimates)
        errors = typed.all_errors if typed else []
        note_errors = list(typed.note_errors) if typed else []
        confirm_errors = list(typed.confirm_errors) if typed else []
        if not typed and pk in explain:
            note_errors.append(explain[pk])
        if not typed and pk in confirm:
            confirm_errors.append(CONFIRM_TEXT)
        errors = [*errors, *([] if typed else note_errors + confirm_errors)]
        flags = flags_for(target, values, period.key) if editable else []
        rows.append(
            {
                "target": target,
                "label": f"{target.code}. {target.name}",
                "figure": current,
                "state": getattr(current, "state", ""),
                "earlier": earlier,
                "progress": evaluate(
                    spec,
                    values,
                    period.key,
                    override=getattr(overrides.get(pk), "verdict", None),
                    override_reason=getattr(overrides.get(pk), "reason", ""),
                    estimates=estimates,
                ),
                "posted": typed,
                "errors": errors,
                "value_errors": typed.errors if typed else [],
                "note_errors": note_errors,
                "confirm_errors": confirm_errors,
                "file_errors": typed.file_errors if typed else [],
                "flags": flags,
                "confirmed": pk in confirmed,
                "needs_explanation": needs,
                "explanation_missing": needs is not None and not note,
                "editable": editable,
                "files": files.get(current.pk, []) if current else [],
                "files_removable": current is not None
                and evidence_files.removable(current, is_open),
                # What the inputs show: the refused POST if any, else the stored
                # row in the form the parser reads back ("3865,28", never "3.865").
                "value_text": typed.raw_value
                if typed
                else format_decimal_input(current.value)
                if current
                else "",
                "kind": typed.kind
                if typed
                else getattr(current, "kind", FigureKind.ACTUAL),
                "note": note,
                "version": typed.version if typed else getattr(current, "version", 0),
            }
        )
    rows.sort(key=lambda r: r["state"] != WorkflowState.RETURNED)
    return rows


def _task_rows(period, tasks, posted_rows):
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
                "editable": update is None
                or update.state in (WorkflowState.DRAFT, WorkflowState.RETURNED),
                "status": typed.status if typed else getattr(update, "status", ""),
                "narrative": typed.narrative
                if typed
                else getattr(update, "narrative", ""),
                "version": typed.version if typed else getattr(update, "version", 0),
            }
        )
    rows.sort(key=lambda r: r["state"] != WorkflowState.RETURNED)
    return rows


# --- review by the approver -----------------------------------------------------------


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
    today = timezone.localdate()
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
            "reminders": approver_notice(today),
        },
    )


def _review_post(request, period) -> None:
    """Approve or return one card (its own button) or the ticked cards."""
    one = request.POST.get("one")
    if one is not None:
        parsed = _one(one)
        if parsed is None:
            raise Http404
        action, prefix, pk, version = parsed
        figures = {pk: version} if prefix == "f" else {}
        updates = {pk: version} if prefix == "u" else {}
        reason = request.POST.get(f"reason-{prefix}-{pk}", "")
    else:
        figures = _chosen(request.POST, "f-")
        updates = _chosen(request.POST, "u-")
        if figures is None or updates is None:
            raise Http404
        action = request.POST.get("action")
        reason = request.POST.get("reason", "")
    if action not in ("approve", "return"):
        raise Http404
    try:
        if not figures and not updates:
            raise WorkflowError(
                "Chưa chọn mục nào: đánh dấu ô “Chọn” của từng mục (hoặc bấm “Chọn "
                "tất cả”), hoặc dùng nút của riêng mục đó."
            )
        if action == "approve":
            n = review_approve(
                user=request.user, period=period, figures=figures, updates=updates
            )
            messages.success(request, f"Đã phê duyệt {n} mục; các mục này đã khóa.")
        else:
            form = ReasonForm({"reason": reason})
            if not form.is_valid():
                raise WorkflowError(
                    "Chưa trả lại: phải nêu lý do để cán bộ biết cần sửa gì. Ghi lý "
                    "do vào ô “Lý do trả lại” rồi bấm trả lại lần nữa."
                )
            n = review_return(
                user=request.user,
                period=period,
                figures=figures,
                updates=updates,
                reason=form.cleaned_data["reason"],
            )
            messages.success(
                request,
                f"Đã trả lại {n} mục kèm lý do; cán bộ nhập liệu sẽ thấy lý do "
                "trên trang nhập số liệu.",
            )
    except WorkflowError as exc:
        messages.error(request, str(exc))


def _one(value: str) -> tuple[str, str, int, int] | None:
    """A card's own button: "approve:f:12:3" → ("approve", "f", 12, 3)."""
    parts = value.split(":")
    if len(parts) != 4:
        return None
    action, prefix, pk, version = parts
    if action not in ("approve", "return") or prefix not in ("f", "u"):
        return None
    if not (pk.isdigit() and version.isdigit()) or len(pk) > 12 or len(version) > 9:
        return None
    return action, prefix, int(pk), int(version)


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
        if not (pk.isdigit() and version.isdigit()) or len(pk) > 12 or len(version) > 9:
            return None
        chosen[int(pk)] = int(version)
    return chosen


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
    if state == PeriodState.OPEN:
        allowed = rules.is_admin(request.user)
    elif state == PeriodState.CLOSED:
        allowed = rules.is_approver(request.user)
    else:
        allowed = False
    if not allowed:
        raise Http404
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(
            request,
            "Khóa sổ hoặc mở lại kỳ phải nêu lý do: ghi lý do vào ô “Lý do” rồi bấm "
            "lần nữa.",
        )
    else:
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
        removing = request.POST.get("remove", "")
        if removing:
            if not removing.isdigit() or len(removing) > 12:
                raise Http404
            item = get_object_or_404(figure.evidence, pk=int(removing))
            with transaction.atomic():
                evidence_files.remove(request.user, item)
            messages.success(request, f"Đã xóa minh chứng “{item.original_name}”.")
            return redirect("targets:evidence", figure.pk)
        form = EvidenceForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                evidence_files.attach(request.user, figure, form.cleaned_data["file"])
            except evidence_files.EvidenceError as exc:
                form.add_error("file", str(exc))
            else:
                messages.success(request, "Đã tải lên minh chứng.")
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
