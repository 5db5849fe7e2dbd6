"""The admin site's ModelAdmins (Django autodiscovers this module): the resolution's
structure, reporting periods and their reopening for corrections, figures (read-only
once locked), assessments, users, groups and API tokens.

Spreadsheet import and export live in targets.admin_import (`SpreadsheetAdmin`) and
targets.admin_preview; the guard on posted ids in targets.admin_ids (`SafeIdsMixin`).
"""

import copy
import logging

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import admin as auth_admin
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from . import models, periods, services
from .admin_ids import SafeIdsMixin
from .admin_import import SpreadsheetAdmin
from .decimal_inputs import VietnameseDecimalField
from .figure_import import FigureBatchResource
from .forms import MAX_NOTE
from .numbers import format_decimal
from .resources import (
    AssignmentResource,
    IndicatorResource,
    ResponsibleBodyResource,
    TargetResource,
    TaskResource,
)
from .rules import is_admin
from .validation import Action, FigureCheck, check_figures

audit = logging.getLogger("khoenon.audit")


@admin.display(description="kế hoạch", ordering="target_value")
def planned(obj):
    return obj.plan_text


@admin.display(description="số liệu", ordering="value")
def figure_value(obj):
    return format_decimal(obj.value)


@admin.register(models.Commune)
class CommuneAdmin(SafeIdsMixin, admin.ModelAdmin):
    list_display = ["name", "province"]
    search_fields = ["name", "province"]


class IndicatorInline(SafeIdsMixin, admin.TabularInline):
    model = models.Indicator
    extra = 0
    fields = ["number", "area", "text"]


@admin.register(models.Resolution)
class ResolutionAdmin(SafeIdsMixin, admin.ModelAdmin):
    list_display = ["number", "title", "commune", "adopted_on", "plan_year"]
    list_filter = ["commune", "plan_year"]
    search_fields = ["number", "title"]
    date_hierarchy = "adopted_on"
    inlines = [IndicatorInline]


class TargetInline(SafeIdsMixin, admin.TabularInline):
    model = models.Target
    extra = 0
    fields = ["code", "name", "unit", "target_value", "comparison", "combine", "path"]
    show_change_link = True


@admin.register(models.Indicator)
class IndicatorAdmin(SafeIdsMixin, SpreadsheetAdmin, admin.ModelAdmin):
    resource_classes = [IndicatorResource]
    list_display = ["number", "area", "short_text", "resolution"]
    list_filter = ["resolution", "area"]
    search_fields = ["text"]
    inlines = [TargetInline]

    @admin.display(description="nội dung")
    def short_text(self, obj):
        return obj.text[:100]


class AssignmentInline(SafeIdsMixin, admin.TabularInline):
    model = models.Assignment
    extra = 0
    fields = ["body", "role", "is_assumption", "note"]
    autocomplete_fields = ["body"]


@admin.register(models.Target)
class TargetAdmin(SafeIdsMixin, SpreadsheetAdmin, admin.ModelAdmin):
    resource_classes = [TargetResource]
    list_display = [
        "code",
        "name",
        "unit",
        planned,
        "comparison",
        "combine",
        "path",
        "indicator",
    ]
    list_display_links = ["code", "name"]
    list_filter = [
        "indicator__resolution",
        "indicator__area",
        "comparison",
        "combine",
        "path",
    ]
    search_fields = ["code", "name", "clause"]
    list_select_related = ["indicator"]
    inlines = [AssignmentInline]
    fieldsets = [
        (None, {"fields": ["indicator", "code", "order", "name", "unit"]}),
        (
            "Cách đánh giá",
            {
                "fields": [
                    "target_value",
                    "comparison",
                    "combine",
                    "path",
                    "baseline",
                    "decimal_places",
                    "allows_negative",
                ]
            },
        ),
        (
            "Khoảng đánh giá",
            {
                "fields": [
                    ("window_start_year", "window_start_quarter"),
                    ("window_end_year", "window_end_quarter"),
                ]
            },
        ),
        (
            "Tỷ trọng theo mùa vụ (tùy chọn)",
            {
                "classes": ["collapse"],
                "fields": [("profile_q1", "profile_q2", "profile_q3", "profile_q4")],
            },
        ),
        ("Nguyên văn", {"fields": ["clause", "reading_note"]}),
    ]


@admin.register(models.Task)
class TaskAdmin(SafeIdsMixin, SpreadsheetAdmin, admin.ModelAdmin):
    resource_classes = [TaskResource]
    list_display = ["kind", "number", "summary", "resolution"]
    list_filter = ["resolution", "kind"]
    search_fields = ["text"]
    inlines = [AssignmentInline]


@admin.register(models.ResponsibleBody)
class ResponsibleBodyAdmin(SafeIdsMixin, SpreadsheetAdmin, admin.ModelAdmin):
    resource_classes = [ResponsibleBodyResource]
    list_display = ["name", "short_name", "kind", "named_in_text", "commune"]
    list_filter = ["commune", "kind", "named_in_text"]
    search_fields = ["name", "short_name"]
    filter_horizontal = ["members"]


@admin.register(models.Assignment)
class AssignmentAdmin(SafeIdsMixin, SpreadsheetAdmin, admin.ModelAdmin):
    resource_classes = [AssignmentResource]
    list_display = ["body", "role", "target", "task", "is_assumption"]
    list_filter = ["role", "is_assumption", "body"]
    search_fields = ["body__name", "target__code", "target__name", "task__text"]
    list_select_related = ["body", "target", "task"]
    autocomplete_fields = ["body", "target", "task"]


class ReportingPeriodForm(forms.ModelForm):
    """Closing or reopening a quarter from the admin asks for the reason, which the
    period's history keeps (as on the review page)."""

    reason = forms.CharField(
        label="Lý do khóa sổ / mở lại kỳ",
        required=False,
        max_length=MAX_NOTE,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Bắt buộc khi đổi trạng thái của kỳ; được lưu vào lịch sử.",
    )

    class Meta:
        model = models.ReportingPeriod
        fields = ["commune", "year", "quarter", "data_from", "data_to", "deadline"]
        fields += ["state"]

    def clean(self):
        cleaned = super().clean()
        changing = self.instance.pk and "state" in self.changed_data
        if changing and not cleaned.get("reason"):
            self.add_error(
                "reason",
                "Phải nêu lý do khi khóa sổ hoặc mở lại kỳ báo cáo.",
            )
        return cleaned


class CorrectionsForm(forms.Form):
    """One reason for reopening a quarter's approved figures for corrections; for a
    closed quarter, the choice to reopen the quarter itself in the same step."""

    reason = forms.CharField(
        label="Lý do mở lại để sửa số liệu",
        max_length=MAX_NOTE,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Được ghi vào lịch sử của từng số liệu (và của kỳ, nếu mở lại kỳ).",
        error_messages={"required": "Hãy ghi lý do mở lại để sửa số liệu."},
    )
    reopen_period = forms.BooleanField(
        label="Mở lại cả kỳ báo cáo (đang khóa sổ) trong cùng bước này, với lý do trên",
        required=False,
    )


@admin.register(models.ReportingPeriod)
class ReportingPeriodAdmin(SafeIdsMixin, SimpleHistoryAdmin):
    form = ReportingPeriodForm
    list_display = ["__str__", "data_from", "data_to", "deadline", "state", "commune"]
    list_filter = ["commune", "year", "state"]
    actions = ["reopen_for_corrections"]

    def get_urls(self):
        view = self.admin_site.admin_view(self.corrections_view)
        name = "targets_reportingperiod_corrections"
        return [
            path("<int:object_id>/mo-lai-de-sua/", view, name=name),
            *super().get_urls(),
        ]

    @admin.action(description="Mở lại để sửa số liệu (nêu lý do)")
    def reopen_for_corrections(self, request, queryset):
        periods = list(queryset[:2])
        if len(periods) != 1:
            self.message_user(
                request,
                "Hãy chọn đúng một kỳ báo cáo để mở lại sửa số liệu.",
                messages.ERROR,
            )
            return None
        url = reverse("admin:targets_reportingperiod_corrections", args=[periods[0].pk])
        return HttpResponseRedirect(url)

    def corrections_view(self, request, object_id):
        """The intermediate page: one reason, then
        periods.period_reopen_for_corrections (administrators only)."""
        if not is_admin(request.user):
            raise PermissionDenied
        period = models.ReportingPeriod.objects.filter(pk=object_id).first()
        if period is None:
            raise Http404
        form = CorrectionsForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            reopened = self._reopen(request, period, form)
            if reopened is not None:
                return reopened
        return self._corrections_page(request, period, form)

    def _reopen(self, request, period, form):
        """Reopen the quarter's approved figures, and say so on the figures' list;
        None, with the refusal on the form, when the workflow refuses."""
        closed = period.state == models.PeriodState.CLOSED
        try:
            count = periods.period_reopen_for_corrections(
                user=request.user,
                period=period,
                reason=form.cleaned_data["reason"],
                reopen_period=form.cleaned_data["reopen_period"],
            )
        except services.WorkflowError as error:
            form.add_error(None, str(error))
            return None
        messages.success(
            request,
            f"Đã mở lại {count} số liệu đã phê duyệt của {period} để sửa"
            + (" (và mở lại kỳ báo cáo)" if closed else "")
            + ". Hãy nhập biểu đã sửa; số liệu sẽ được duyệt lại.",
        )
        figures = reverse("admin:targets_figure_changelist")
        return HttpResponseRedirect(f"{figures}?period__id__exact={period.pk}")

    def _corrections_page(self, request, period, form):
        approved = models.Figure.objects.filter(
            period=period, state=models.WorkflowState.APPROVED
        ).count()
        context = {
            **self.admin_site.each_context(request),
            "title": f"Mở lại {period} để sửa số liệu",
            "opts": self.model._meta,
            "period": period,
            "closed": period.state == models.PeriodState.CLOSED,
            "approved": approved,
            "form": form,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request, "admin/targets/reportingperiod/corrections.html", context
        )

    def save_model(self, request, obj, form, change):
        reason = form.cleaned_data.get("reason")
        obj._change_reason = (
            f"{models.VIA_ADMIN} – {reason}" if reason else (models.VIA_ADMIN)
        )
        super().save_model(request, obj, form, change)
        if change and "state" in form.changed_data:
            audit.info(
                "period_%s user=%s period=%s via=admin",
                obj.state,
                request.user.username,
                obj.pk,
            )


class FigureAdminForm(forms.ModelForm):
    """The figure's value read by the strict Vietnamese parser, with the target's
    decimals and sign (a new figure gets the column's limits here and the target's
    from the batch check once the target is chosen). The rules are the one batch
    check's (targets.validation, DRAFT: the figure's own rules and the lock), as for
    the entry page and the import. The workflow (submit, approve, return, reopen)
    is not edited here: it has its pages and its rules."""

    value = VietnameseDecimalField(
        label="số liệu",
        decimal_places=models.VALUE_DECIMAL_PLACES,
        allow_negative=True,
    )
    refused = False  # the batch check refused the figure (see _post_clean)

    class Meta:
        model = models.Figure
        fields = ["target", "period", "value", "kind", "note", "is_demo"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.target_id:
            target = self.instance.target
            self.fields["value"].decimal_places = target.decimal_places
            self.fields["value"].allow_negative = target.allows_negative

    def clean(self):
        cleaned = super().clean()
        figure = copy.copy(self.instance)  # as it would be saved
        for name in self._meta.fields:
            if name in cleaned:
                setattr(figure, name, cleaned[name])
        checks = check_figures([figure], action=Action.DRAFT)
        self.refused = 0 in checks
        for field, errors in checks.get(0, FigureCheck()).error_dict().items():
            self.add_error(field if field in self.fields else None, errors)
        return cleaned

    def _post_clean(self):
        # The model form runs Figure.clean next, which says again what the batch
        # check said (the lock, for single saves on any path): only when it passed,
        # so that no message shows twice. `_post_clean` is Django's (5.2) private
        # step of ModelForm validation; test_import_batch's "…_is_refused_once"
        # tests fail if Django renames it (the message would then show twice).
        if not self.refused:
            super()._post_clean()


class LockedRowsMixin:
    """Rows that `locked_reason` names are read-only here and cannot be deleted; the
    delete page names each of them with its reason instead of a missing right."""

    def locked_reason(self, obj) -> str | None:
        raise NotImplementedError

    def _locked(self, obj) -> bool:
        return obj is not None and self.locked_reason(obj) is not None

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not self._locked(obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not self._locked(obj)

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(
            objs, request
        )
        for item in objs:
            reason = self.locked_reason(item)
            if reason:
                protected.append(f"{item} – {reason}")
        if protected:
            perms_needed.discard(self.model._meta.verbose_name)
        return deleted, counts, perms_needed, protected


@admin.register(models.Figure)
class FigureAdmin(LockedRowsMixin, SafeIdsMixin, SpreadsheetAdmin, SimpleHistoryAdmin):
    """An approved figure, or one in a closed quarter, is read-only here and cannot
    be deleted: it changes only through the audited reopen (Lịch sử thay đổi page).
    Figure.clean and Figure.objects.delete hold the same rule for any other path,
    the history revert included."""

    resource_classes = [FigureBatchResource]
    form = FigureAdminForm
    list_display = [
        "target",
        "period",
        figure_value,
        "kind",
        "state",
        "is_demo",
        "updated_at",
        "updated_by",
    ]
    list_filter = ["period", "state", "kind", "is_demo", "target__indicator__area"]
    search_fields = ["target__code", "target__name", "note"]
    list_select_related = ["target", "period", "updated_by"]
    autocomplete_fields = ["target"]
    readonly_fields = [
        "state",
        "state_reason",
        "version",
        "updated_at",
        "updated_by",
        "submitted_at",
        "submitted_by",
        "approved_at",
        "approved_by",
    ]

    def locked_reason(self, obj) -> str | None:
        return models.lock_reason(obj.state, obj.period)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        figure = self.get_object(request, object_id)
        if self._locked(figure):
            history = reverse("targets:history", args=[figure.target_id])
            messages.warning(
                request,
                format_html(
                    "{} Mở lại có ghi lý do tại trang "
                    '<a href="{}">Lịch sử thay đổi</a> của chỉ tiêu.',
                    models.lock_reason(figure.state, figure.period),
                    history,
                ),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        obj.stamp(request.user, models.VIA_ADMIN)
        super().save_model(request, obj, form, change)


@admin.register(models.Assessment)
class AssessmentAdmin(LockedRowsMixin, SafeIdsMixin, SimpleHistoryAdmin):
    """A verdict of a closed quarter is kept as it is (Assessment.clean says why)."""

    list_display = ["target", "period", "verdict", "assessed_by", "assessed_at"]
    list_filter = ["period", "verdict"]
    search_fields = ["target__code", "target__name", "reason"]
    list_select_related = ["target", "period", "assessed_by"]
    autocomplete_fields = ["target"]

    def locked_reason(self, obj) -> str | None:
        closed = obj.period.state == models.PeriodState.CLOSED
        return f"{obj.period} đã khóa sổ" if closed else None

    def save_model(self, request, obj, form, change):
        obj.assessed_by = request.user
        obj._change_reason = form.cleaned_data.get("reason") or models.VIA_ADMIN
        super().save_model(request, obj, form, change)


# Django's own user and group admins, with the same guard on posted ids.
admin.site.unregister([Group, User])


@admin.register(Group)
class GroupAdmin(SafeIdsMixin, auth_admin.GroupAdmin):
    pass


@admin.register(User)
class UserAdmin(SafeIdsMixin, auth_admin.UserAdmin):
    pass


@admin.register(models.ApiToken)
class ApiTokenAdmin(SafeIdsMixin, admin.ModelAdmin):
    """Named API tokens: the administrator issues one to a user and sees its secret
    once, on the page after saving; the list says when each was last used; revoking
    one leaves the user's other tokens working."""

    list_display = [
        "name",
        "user",
        "prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username", "prefix"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "name"]
        return ["user", "name", "prefix", "created_at", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["user", "prefix", "created_at", "last_used_at", "revoked_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj._secret = models.ApiToken.new_secret()
            obj.set_secret(obj._secret)
            audit.info("token_issue user=%s by=%s", obj.user.username, request.user)
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        """The secret, shown this once: it is not stored and cannot be shown again."""
        return TemplateResponse(
            request,
            "reports/public/token_issued.html",
            {
                **self.admin_site.each_context(request),
                "token": obj,
                "secret": obj._secret,
                "title": "Đã cấp mã truy cập",
                "opts": self.model._meta,
            },
        )

    @admin.action(description="Thu hồi các mã truy cập đã chọn")
    def revoke(self, request, queryset):
        from .services import token_revoke

        for token in queryset.select_related("user"):
            token_revoke(token)
        messages.success(request, "Đã thu hồi mã truy cập đã chọn.")
