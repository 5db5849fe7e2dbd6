"""The clerk's entry page: one form with a row per target and per task of the
quarter, saved as drafts or sent for approval (targets.entry.entry_save)."""

from dataclasses import dataclass, field

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from . import entry_cache, rules
from . import evidence as evidence_files
from .entry import RowErrors, entry_save, entry_scope
from .entry_rows import figure_entries, task_entries
from .forms import BadPost, read_confirmations, read_entry, read_files, read_removals
from .models import ReportingPeriod, TaskStatus, WorkflowState
from .reminders import QuarterRead, clerk_notice, led_periods
from .services import WorkflowError
from .submission import SubmitPlan, submit_plan


@dataclass
class Posted:
    """What the clerk sent that the page shows again: the typed rows of a refused
    POST, the submit plan that refused, the confirmed flags."""

    figure_rows: list | None = None
    task_rows: list | None = None
    plan: SubmitPlan | None = None
    confirmed: set = field(default_factory=set)


def _clerk_periods(user):
    """Periods of the communes whose targets the clerk leads."""
    communes = rules.editable_targets(user).values("indicator__resolution__commune")
    return ReportingPeriod.objects.filter(commune__in=communes).order_by(
        "-year", "-quarter"
    )


def entry_period_for(user) -> ReportingPeriod | None:
    """The clerk's quarter for entry: the latest one open today, else the latest
    one; None when the clerk's communes have no period at all."""
    periods = list(_clerk_periods(user))
    today = timezone.localdate()
    open_now = [p for p in periods if p.is_open_for_entry(today)]
    if open_now:
        return open_now[0]
    return periods[0] if periods else None


def entry(request):
    """Send the clerk to the period open for entry (the latest open one)."""
    if not rules.is_clerk(request.user):
        raise Http404
    period = entry_period_for(request.user)
    if period is None:
        return render(request, "targets/entry_none.html")
    return redirect("targets:entry_period", period.pk)


def entry_period(request, period_id):
    if not rules.is_clerk(request.user):
        raise Http404
    today = timezone.localdate()
    # The plain page is kept (targets/entry_cache.py says under what). A key found
    # is an allowed page: only a page drawn for a period this clerk's bodies may
    # enter is ever kept, the key holds those bodies, and the entry token moves
    # with any change of what they lead or of the periods. So a hit needs no
    # check of the period, and a period never kept goes on to the 404 below.
    key = None
    if request.method == "GET" and request.GET.get("gui") != "1":
        key = entry_cache.key(period_id, rules.body_ids(request.user), today)
        drawing = entry_cache.found(key)
        if drawing is not None:
            return _shell(request, drawing)
    # The quarters where the clerk's bodies lead something: those where they lead
    # a target are the page's (the "Kỳ khác" links), the open ones the notice's.
    led = list(led_periods(rules.body_ids(request.user)).order_by("-year", "-quarter"))
    periods = [p for p in led if p.leads_target]
    period = next((p for p in periods if p.pk == period_id), None)
    if period is None:
        raise Http404
    targets, tasks = entry_scope(request.user, period)
    posted = Posted()
    if request.method == "POST":
        done = _entry_post(request, period, targets, tasks, today, posted)
        if done is not None:
            return done
    elif request.GET.get("gui") == "1" and period.is_open_for_entry(today):
        done = _submit_confirmation(request, period, targets, tasks, posted)
        if done is not None:
            return done
    drawing = _entry_drawing(
        request.user, led, periods, period, targets, tasks, today, posted
    )
    if key is not None:
        entry_cache.keep(key, drawing)
    return _shell(request, drawing)


def _entry_post(request, period, targets, tasks, today, posted: Posted):
    """Save (and send) what the form carries: the redirect once saved, None when
    refused (the page shows the typed rows again with the messages)."""
    try:
        posted.figure_rows, posted.task_rows = read_entry(request.POST, targets, tasks)
        files = read_files(request.FILES, targets)
    except BadPost:
        raise Http404 from None
    action = request.POST.get("action")
    posted.confirmed = read_confirmations(request.POST, targets)
    try:
        counts = entry_save(
            user=request.user,
            period=period,
            figure_rows=posted.figure_rows,
            task_rows=posted.task_rows,
            targets=targets,
            tasks=tasks,
            submit=action == "submit",
            today=today,
            confirmed=posted.confirmed,
            plan_token=request.POST.get("plan") or None,
            files=files,
            removals=read_removals(request.POST),
        )
    except WorkflowError as exc:
        messages.error(request, str(exc))
    except RowErrors as exc:
        posted.plan = exc.plan
        messages.error(
            request,
            "Chưa lưu, chưa gửi: có ô cần sửa (danh sách ở đầu trang). Số bạn đã "
            "nhập vẫn còn trên trang.",
        )
    else:
        return _saved(request, period, action, counts, posted.confirmed)
    return None


def _saved(request, period, action: str | None, counts: dict, confirmed: set):
    """What the clerk reads after a save, and where they go next."""
    url = reverse("targets:entry_period", args=[period.pk])
    if action == "submit":
        messages.success(
            request, f"Đã gửi duyệt {counts['submitted']} mục của {period}."
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
        # Saved; now the confirmation of what "Gửi duyệt" will send (a GET, so a
        # reload never saves twice).
        query = "&".join(["gui=1", *(f"c={pk}" for pk in sorted(confirmed))])
        return redirect(f"{url}?{query}#gui-duyet")
    return redirect(url)


def _submit_confirmation(request, period, targets, tasks, posted: Posted):
    """The confirmation page of what "Gửi duyệt" will send, or None (with the
    reason) when there is nothing to send or something is still missing."""
    posted.confirmed = read_confirmations(request.GET, targets)
    posted.plan = plan = submit_plan(period, targets, tasks, posted.confirmed)
    if plan.ready:
        return render(
            request,
            "targets/entry_confirm.html",
            {"period": period, "plan": plan, "confirmed": sorted(posted.confirmed)},
        )
    if not plan.send:
        messages.error(request, "Không có số liệu nào mới để gửi duyệt.")
    else:
        messages.error(
            request,
            "Chưa gửi duyệt: có mục cần bổ sung trước khi gửi (danh sách ở đầu "
            "trang). Số liệu đã được lưu nháp.",
        )
    return None


def _entry_drawing(user, led, periods, period, targets, tasks, today, posted: Posted):
    """The page below the navigation, drawn without request (no CSRF token, no
    user name, no message): its title, what comes above the form and the form's
    inside. Plain strings, so it can be kept (targets/entry_cache.py)."""
    is_open = period.is_open_for_entry(today)
    rows = figure_entries(
        period, targets, posted.figure_rows, posted.plan, is_open, posted.confirmed
    )
    task_list = task_entries(period, tasks, posted.task_rows)
    # What the rows read is what the clerk's notice reads for this quarter.
    read = QuarterRead(
        period,
        list(targets.values()),
        list(tasks.values()),
        figures={r["target"].pk: r["figure"] for r in rows},
        updates={r["task"].pk: r["update"] for r in task_list},
    )
    context = {
        "period": period,
        "periods": periods,
        "is_open": is_open,
        "rows": rows,
        "task_rows": task_list,
        "task_statuses": TaskStatus.choices,
        "evidence_accept": evidence_files.ACCEPT,
        "problems": _problems(rows, task_list),
        "reminders": clerk_notice(user, today, read, led),
        "returned_count": sum(
            1 for r in [*rows, *task_list] if r["state"] == WorkflowState.RETURNED
        ),
    }
    return {
        "title": str(period),
        "head": render_to_string("targets/_entry_head.html", context),
        "form": render_to_string("targets/_entry_form.html", context),
    }


def _shell(request, drawing: dict):
    """The drawn page in the navigation, messages and CSRF token of this request."""
    return render(
        request,
        "targets/entry.html",
        {
            "title": drawing["title"],
            "head": mark_safe(drawing["head"]),
            "form": mark_safe(drawing["form"]),
        },
    )


def _problems(rows: list, task_list: list) -> list[dict]:
    """After a refusal: every row that needs the clerk, returned ones first, with a
    link to each; the page moves focus there."""
    return [
        {"anchor": f"row-{r['target'].pk}", "label": r["label"], "errors": r["errors"]}
        for r in rows
        if r["errors"]
    ] + [
        {"anchor": f"task-{r['task'].pk}", "label": r["label"], "errors": r["errors"]}
        for r in task_list
        if r["errors"]
    ]
