import hashlib
import logging
import os

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import LogEntry
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth import admin as auth_admin
from django.contrib.auth.models import Group, User
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.text import slugify
from django.views.decorators.http import require_POST
from import_export.admin import ImportExportMixin
from import_export.forms import ConfirmImportForm, ExportForm, ImportForm
from simple_history.admin import SimpleHistoryAdmin

from . import models, periods, services
from .forms import MAX_NOTE
from .models import (
    Assessment,
    Assignment,
    Commune,
    Figure,
    Indicator,
    ReportingPeriod,
    Resolution,
    ResponsibleBody,
    Target,
    Task,
    lock_reason,
)
from .numbers import VietnameseDecimalField, format_decimal, format_megabytes
from .resources import (
    AssignmentResource,
    FigureBatchResource,
    IndicatorResource,
    ResponsibleBodyResource,
    TargetResource,
    TaskResource,
    plan_digest,
    totals_line,
)
from .rules import can_import, is_admin
from .sheets import CommuneCSV, CommuneFigureResource, CommuneXLSX
from .spreadsheets import (
    MAX_COLUMNS,
    SafeCSV,
    SafeXLSX,
    SpreadsheetRejected,
    check_size,
    format_for_name,
    max_bytes,
    max_rows,
)

logger = logging.getLogger(__name__)
audit = logging.getLogger("khoenon.audit")


def _usable_key(field, value) -> bool:
    """Whether `value` can be looked up as a key of `field`: "abc" cannot, and
    neither can 99999999999999999999 (SQLite raises OverflowError binding it)."""
    try:
        key = field.to_python(value)
    except ValidationError:
        return False
    return not isinstance(key, int) or -(2**63) <= key < 2**63


def _key_field(queryset, to_field_name):
    opts = queryset.model._meta
    return opts.get_field(to_field_name) if to_field_name else opts.pk


class SafeModelChoiceField(forms.ModelChoiceField):
    def to_python(self, value):
        if value not in self.empty_values and not _usable_key(
            _key_field(self.queryset, self.to_field_name), value
        ):
            raise ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            )
        return super().to_python(value)


class SafeModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    def _check_values(self, value):
        key = _key_field(self.queryset, self.to_field_name)
        for pk in value or []:
            if not _usable_key(key, pk):
                raise ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                )
        return super()._check_values(value)


class SafeAutocompleteSelect(AutocompleteSelect):
    """Django's autocomplete widget re-renders a refused form by looking up the
    posted ids: a non-numeric one raised ValueError there, a 500. Ids that cannot
    be keys are left out of the lookup; the field itself says they are invalid."""

    def optgroups(self, name, value, attr=None):
        kept = [item for item in value if _usable_key(self.field.target_field, item)]
        return super().optgroups(name, kept, attr)


class SafeIdsMixin:
    """A posted id that is no key ("abc", "1 OR 1=1", 20 digits) is a form error
    on every relation field of this admin or inline, never a 500."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs.setdefault("form_class", SafeModelChoiceField)
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(
            request
        ):
            kwargs["widget"] = SafeAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs.setdefault("form_class", SafeModelMultipleChoiceField)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.display(description="kế hoạch", ordering="target_value")
def planned(obj):
    return obj.plan_text


@admin.display(description="số liệu", ordering="value")
def figure_value(obj):
    return format_decimal(obj.value)


# -- spreadsheet import and export (targets.resources, targets.spreadsheets) --------

PREVIEW_SALT = "targets.admin.import-preview"
PREVIEW_MAX_AGE = 60 * 60  # seconds during which a preview can be confirmed


class SpreadsheetImportForm(ImportForm):
    """The library's upload form in Vietnamese, refusing a file whose extension does
    not match the chosen format, or that is too large, before anything reads it."""

    def __init__(self, formats, resources, **kwargs):
        super().__init__(formats, resources, **kwargs)
        self.formats = formats
        self.fields["resource"].label = "Loại dữ liệu"
        self.fields["format"].label = "Định dạng"
        self.fields["import_file"].label = "Tệp cần nhập"
        limits = (
            f"Bảng tính .xlsx hoặc tệp .csv (UTF-8), tối đa "
            f"{format_megabytes(max_bytes())}, {format_decimal(max_rows())} dòng "
            f"(kể cả dòng trống) và {MAX_COLUMNS} cột. Hệ thống chỉ đọc trang tính "
            "đầu tiên và không nhận macro. "
        )
        if any(issubclass(r, CommuneFigureResource) for r in resources):
            # Figures are read as the office layout (targets.sheets).
            self.fields["import_file"].help_text = limits + (
                "Nhận biểu tổng hợp của xã theo mẫu báo cáo HĐND hoặc tệp mẫu của "
                "hệ thống: tiêu đề biểu (gộp ô cũng được), dòng trống, dòng nhóm, "
                "dòng tổng và phần chữ ký được bỏ qua; ô công thức lấy giá trị tính "
                "sẵn trong tệp. Ô gộp trong dòng số liệu và công thức chưa có giá "
                "trị tính sẵn bị từ chối, có nêu rõ ô."
            )
        else:
            self.fields["import_file"].help_text = limits + (
                "Dòng 1 là tiêu đề cột như tệp mẫu; không nhận công thức và ô gộp."
            )

    def clean(self):
        cleaned = super().clean()
        upload, chosen = cleaned.get("import_file"), cleaned.get("format")
        if upload is None or chosen in (None, ""):
            return cleaned
        try:
            expected = format_for_name(upload.name)
            check_size(upload.size)
        except SpreadsheetRejected as error:
            self.add_error("import_file", error.message)
            return cleaned
        if not issubclass(self.formats[int(chosen)], expected):
            self.add_error(
                "format",
                f"Tệp “{upload.name}” có đuôi .{expected().get_extension()} nhưng "
                f"định dạng đã chọn là {self.formats[int(chosen)]().get_title()}. "
                f"Hãy chọn định dạng {expected().get_title()}.",
            )
        return cleaned


class PreviewConfirmForm(ConfirmImportForm):
    # Signed: the stored file's digest and the preview's plan (see process_import).
    preview = forms.CharField(widget=forms.HiddenInput())


class SpreadsheetExportForm(ExportForm):
    def __init__(self, formats, resources, **kwargs):
        super().__init__(formats, resources, **kwargs)
        self.fields["resource"].label = "Loại dữ liệu"
        self.fields["format"].label = "Định dạng"


def import_choices(post) -> dict:
    """The administrator's choices in the preview form: a column's meaning
    ("col:E"), a row's target ("row:7"), the resolution. Bounded: a form field
    never holds a long text, and a few hundred choices are plenty."""
    choices = {}
    for key in list(post.keys())[:2000]:
        if key.startswith(("col:", "row:")) or key in (
            "resolution",
            "submit",
            "confirm",
        ):
            value = post.get(key, "")[:40]
            if value and len(key) <= 20:
                choices[key] = value
    return choices


def _select(name: str, options, current: str, blank: str | None = None):
    items = [("", blank)] if blank is not None else []
    items += list(options)
    return format_html(
        '<select name="{}">{}</select>',
        name,
        format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((v, " selected" if v == current else "", label) for v, label in items),
        ),
    )


def proposal_view(proposal, choices: dict) -> dict:
    """What the preview shows of the office-layout reading (targets.sheets)."""
    column_options = proposal.column_options
    columns = [
        {
            "letter": c.letter,
            "header": c.header,
            "meaning": c.meaning,
            "ask": c in proposal.column_choices,
            "select": _select(
                f"col:{c.letter}",
                column_options,
                choices.get(f"col:{c.letter}", ""),
                blank="(giữ như trên)",
            ),
        }
        for c in proposal.columns
        if c.header or c.role != "ignore"
    ]
    target_options = [("skip", "Bỏ qua dòng này")] + [
        (str(t.pk), f"{t.code} – {t.name[:70]} ({t.unit})")
        for t in proposal.target_choices
    ]
    rows = []
    for m in proposal.matches:
        picked = choices.get(f"row:{m.row}", "")
        if not picked and m.needs_choice and m.candidates:
            picked = str(m.candidates[0].pk)
        rows.append(
            {
                "row": m.row,
                "name": m.name,
                "code": m.code,
                "unit": m.unit,
                "plan": m.plan,
                "target": m.target,
                "stored_plan": m.target and format_decimal(m.target.target_value),
                "how": m.how,
                "values": m.values,
                "ask": m.needs_choice,
                "select": _select(
                    f"row:{m.row}",
                    target_options,
                    picked,
                    blank=None if m.needs_choice else "(giữ như hệ thống khớp)",
                ),
            }
        )
    resolution_select = None
    if proposal.resolutions and (
        proposal.resolution is None or len(proposal.resolutions) > 1
    ):
        resolution_select = _select(
            "resolution",
            [
                (str(r.pk), f"Nghị quyết {r.number} ({r.plan_year})")
                for r in proposal.resolutions
            ],
            str(proposal.resolution.pk) if proposal.resolution else "",
            blank="(chọn nghị quyết)",
        )
    return {
        "p": proposal,
        "columns": columns,
        "rows": rows,
        "resolution_select": resolution_select,
        "asks": proposal.needs_choice or bool(proposal.problems),
    }


def figure_template_response(request):
    """The figures template: the council report layout pre-filled with the
    resolution's targets, the period in the title, a drop-down for the kind."""
    from .sheets import figure_template

    resolution = (
        Resolution.objects.filter(pk=request.GET.get("resolution") or None).first()
        if str(request.GET.get("resolution", "")).isdigit()
        else None
    )
    data, name = figure_template(resolution)
    response = HttpResponse(data, content_type=SafeXLSX.CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class SpreadsheetAdmin(ImportExportMixin):
    """Import and export through the safe formats of targets.spreadsheets.

    Import is for administrators only (rules.can_import); export for whoever may view
    the list. The preview writes nothing. Its confirm form carries a signed token
    with the digest of the stored file and a fingerprint of the preview's plan; the
    confirm imports that same file in a transaction and writes only if the result
    has no error and the same plan, so it writes exactly what was previewed or
    nothing (someone may have approved a figure or closed a period meanwhile)."""

    import_formats = [SafeXLSX, SafeCSV]
    export_formats = [SafeXLSX, SafeCSV]
    import_form_class = SpreadsheetImportForm
    confirm_form_class = PreviewConfirmForm
    export_form_class = SpreadsheetExportForm

    # What the admin's history pages say of an imported row; the library's own words
    # are English ("new through import_export").
    IMPORT_LOG_MESSAGES = {
        "new": "Thêm bằng nhập bảng tính",
        "update": "Sửa bằng nhập bảng tính",
        "delete": "Xóa bằng nhập bảng tính",
    }

    def _create_log_entry(self, user_pk, rows, import_type, action_flag):
        if rows:
            LogEntry.objects.log_actions(
                user_pk,
                rows,
                action_flag,
                change_message=self.IMPORT_LOG_MESSAGES[import_type],
                single_object=len(rows) == 1,
            )

    def has_import_permission(self, request):
        return can_import(request.user)

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def get_urls(self):
        info = self.get_model_info()
        view = self.admin_site.admin_view(self.import_template_view)
        template = path("import/template/", view, name="%s_%s_import_template" % info)
        return [template, *super().get_urls()]

    def get_import_formats(self):
        # Figures are read as the office layout (targets.sheets): title rows,
        # headings, cached formulas and merged titles are the commune's own sheet.
        if self.model is Figure:
            return [CommuneXLSX, CommuneCSV]
        return super().get_import_formats()

    def get_import_resource_classes(self, request):
        if self.model is Figure:
            return [CommuneFigureResource]
        return super().get_import_resource_classes(request)

    def get_import_data_kwargs(self, **kwargs):
        request = kwargs.get("request")
        kwargs = super().get_import_data_kwargs(**kwargs)
        if self.model is Figure:
            kwargs["choices"] = getattr(request, "_import_choices", {})
        return kwargs

    def import_template_view(self, request):
        """An empty workbook with the Vietnamese headers of this resource; for
        figures, the council report layout pre-filled with the targets."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        if self.model is Figure:
            return figure_template_response(request)
        resource = self.get_import_resource_classes(request)[0]()
        dataset = resource.export(
            queryset=self.model.objects.none(), force_native_type=True
        )
        response = HttpResponse(
            SafeXLSX().export_data(dataset), content_type=SafeXLSX.CONTENT_TYPE
        )
        name = f"mau-nhap-{self._file_slug()}.xlsx"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def _file_slug(self) -> str:
        name = str(self.model._meta.verbose_name_plural)
        return slugify(name.replace("đ", "d").replace("Đ", "D"))

    def _tmp_storage(self, name: str):
        return self.get_tmp_storage_class()(
            name=os.path.basename(name),
            encoding=None,
            read_mode="rb",
            **self.get_tmp_storage_class_kwargs(),
        )

    def import_action(self, request, **kwargs):
        request._import_choices = import_choices(request.POST)
        if request.method == "POST" and request.POST.get("stored"):
            # "Xem trước lại" with the administrator's choices: the file previewed
            # a moment ago, kept on the server under a signed name.
            try:
                kept = signing.loads(
                    request.POST["stored"], salt=PREVIEW_SALT, max_age=PREVIEW_MAX_AGE
                )
                storage = self._tmp_storage(kept["file"])
                data = storage.read()
            except (signing.BadSignature, OSError, KeyError):
                return self._import_page(
                    request, "Phiên xem trước không hợp lệ hoặc đã quá một giờ."
                )
            storage.remove()
            request.FILES["import_file"] = SimpleUploadedFile(kept["name"], data)
        response = super().import_action(request, **kwargs)
        context = getattr(response, "context_data", None)
        if context is None:
            return response
        context["title"] = "Nhập từ bảng tính"
        confirm = context.get("confirm_form")
        stored = getattr(request.FILES.get("import_file"), "tmp_storage_name", None)
        proposal = getattr(context.get("result"), "proposal", None)
        if proposal is not None:
            context["proposal"] = proposal_view(proposal, request._import_choices)
        kept = confirm.initial["import_file_name"] if confirm is not None else stored
        if proposal is not None and kept:
            # Kept for "Xem trước lại" with choices made in the preview (a column,
            # a row, "Gửi duyệt"), whether or not this preview can be confirmed.
            context["remap"] = {
                "stored": signing.dumps(
                    {
                        "file": os.path.basename(kept),
                        "name": request.FILES["import_file"].name,
                    },
                    salt=PREVIEW_SALT,
                ),
                "resource": request.POST.get("resource", "0"),
                "format": request.POST.get("format", "0"),
            }
            stored = None
        if confirm is not None:
            initial = confirm.initial
            data = self._tmp_storage(initial["import_file_name"]).read()
            confirm.initial["preview"] = signing.dumps(
                {
                    "file": os.path.basename(initial["import_file_name"]),
                    "format": str(initial["format"]),
                    "resource": str(initial.get("resource") or ""),
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "plan": plan_digest(context["result"]),
                    "choices": request._import_choices,
                },
                salt=PREVIEW_SALT,
            )
        elif stored:
            # A refused file is not kept on the server.
            try:
                self._tmp_storage(stored).remove()
            except OSError:
                pass
        return response

    @method_decorator(require_POST)
    def process_import(self, request, **kwargs):
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = self.create_confirm_form(request)
        if not form.is_valid():
            return self._import_page(request, "Thiếu thông tin xác nhận nhập.")
        data = form.cleaned_data
        try:
            token = signing.loads(
                data["preview"], salt=PREVIEW_SALT, max_age=PREVIEW_MAX_AGE
            )
        except signing.BadSignature:
            return self._import_page(
                request, "Phiên xem trước không hợp lệ hoặc đã quá một giờ."
            )
        storage = self._tmp_storage(data["import_file_name"])
        try:
            raw = storage.read()
        except OSError:
            return self._import_page(request, "Tệp đã xem trước không còn trên máy.")
        if token != {
            "file": data["import_file_name"],
            "format": data["format"],
            "resource": data.get("resource") or "",
            "sha256": hashlib.sha256(raw).hexdigest(),
            "plan": token["plan"],
            "choices": token.get("choices", {}),
        }:
            return self._import_page(request, "Tệp hoặc lựa chọn khác lúc xem trước.")
        request._import_choices = token.get("choices", {})
        input_format = self.get_import_formats()[int(data["format"])]()
        try:
            dataset = input_format.create_dataset(raw)
        except SpreadsheetRejected as error:
            return self._import_page(request, error.message)
        with transaction.atomic():
            result = self.process_dataset(dataset, form, request, **kwargs)
            if result.has_errors() or result.has_validation_errors():
                problem = "Tệp có lỗi (xem danh sách bên dưới)."
            elif plan_digest(result) != token["plan"]:
                problem = (
                    "Dữ liệu đã thay đổi kể từ lúc xem trước (có người vừa sửa, "
                    "duyệt số liệu hoặc khóa kỳ báo cáo)."
                )
            else:
                problem = None
                response = self.process_result(result, request)
            if problem:
                transaction.set_rollback(True)
        if problem:
            return self._import_page(request, problem, result)
        storage.remove()
        return response

    def _import_page(self, request, problem: str, result=None):
        """The upload page again, after a confirm that wrote nothing."""
        messages.error(
            request,
            f"{problem} Không có gì được ghi vào cơ sở dữ liệu. Hãy tải tệp lên và "
            "xem trước lại.",
        )
        form = self.get_import_form_class(request)(
            self.get_import_formats(), self.get_import_resource_classes(request)
        )
        resource = self.get_import_resource_classes(request)[0]()
        context = self.get_import_context_data()
        context.update(self.admin_site.each_context(request))
        context.update(
            {
                "title": "Nhập từ bảng tính",
                "form": form,
                "opts": self.model._meta,
                "media": self.media + form.media,
                "result": result,
                "import_error_display": self.import_error_display,
                "fields_list": [
                    (
                        resource.get_display_name(),
                        [f.column_name for f in resource.get_user_visible_fields()],
                    )
                ],
            }
        )
        request.current_app = self.admin_site.name
        return TemplateResponse(request, [self.import_template_name], context)

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, SpreadsheetRejected):
            form.add_error("import_file", e.message)
            return
        logger.warning("import: unreadable file", exc_info=e)
        form.add_error(
            "import_file",
            "Không đọc được tệp. Hãy kiểm tra đây là bảng tính .xlsx hoặc tệp .csv "
            "lưu bằng mã UTF-8, và đã chọn đúng định dạng.",
        )

    def add_success_message(self, result, request):
        messages.success(
            request,
            f"Đã nhập {self.model._meta.verbose_name_plural}: {totals_line(result)}.",
        )

    def get_export_data(self, file_format, request, queryset, **kwargs):
        # Native values, so that the formats tell numbers from text by type: a
        # number stays a number, a text starting with "-" or "=" is escaped.
        if not self.has_export_permission(request):
            raise PermissionDenied
        kwargs["force_native_type"] = True
        return file_format.export_data(
            self.get_data_for_export(request, queryset, **kwargs)
        )

    def get_export_filename(self, request, queryset, file_format):
        date = timezone.localdate().strftime("%Y-%m-%d")
        return f"{self._file_slug()}-{date}.{file_format.get_extension()}"


@admin.register(Commune)
class CommuneAdmin(SafeIdsMixin, admin.ModelAdmin):
    list_display = ["name", "province"]
    search_fields = ["name", "province"]


class IndicatorInline(SafeIdsMixin, admin.TabularInline):
    model = Indicator
    extra = 0
    fields = ["number", "area", "text"]


@admin.register(Resolution)
class ResolutionAdmin(SafeIdsMixin, admin.ModelAdmin):
    list_display = ["number", "title", "commune", "adopted_on", "plan_year"]
    list_filter = ["commune", "plan_year"]
    search_fields = ["number", "title"]
    date_hierarchy = "adopted_on"
    inlines = [IndicatorInline]


class TargetInline(SafeIdsMixin, admin.TabularInline):
    model = Target
    extra = 0
    fields = ["code", "name", "unit", "target_value", "comparison", "combine", "path"]
    show_change_link = True


@admin.register(Indicator)
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
    model = Assignment
    extra = 0
    fields = ["body", "role", "is_assumption", "note"]
    autocomplete_fields = ["body"]


@admin.register(Target)
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


@admin.register(Task)
class TaskAdmin(SafeIdsMixin, SpreadsheetAdmin, admin.ModelAdmin):
    resource_classes = [TaskResource]
    list_display = ["kind", "number", "summary", "resolution"]
    list_filter = ["resolution", "kind"]
    search_fields = ["text"]
    inlines = [AssignmentInline]


@admin.register(ResponsibleBody)
class ResponsibleBodyAdmin(SafeIdsMixin, SpreadsheetAdmin, admin.ModelAdmin):
    resource_classes = [ResponsibleBodyResource]
    list_display = ["name", "short_name", "kind", "named_in_text", "commune"]
    list_filter = ["commune", "kind", "named_in_text"]
    search_fields = ["name", "short_name"]
    filter_horizontal = ["members"]


@admin.register(Assignment)
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
        model = ReportingPeriod
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


@admin.register(ReportingPeriod)
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
        services.period_reopen_for_corrections (administrators only)."""
        if not is_admin(request.user):
            raise PermissionDenied
        period = ReportingPeriod.objects.filter(pk=object_id).first()
        if period is None:
            raise Http404
        closed = period.state == models.PeriodState.CLOSED
        form = CorrectionsForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                count = periods.period_reopen_for_corrections(
                    request.user,
                    period,
                    form.cleaned_data["reason"],
                    reopen_period=form.cleaned_data["reopen_period"],
                )
            except services.WorkflowError as error:
                form.add_error(None, str(error))
            else:
                messages.success(
                    request,
                    f"Đã mở lại {count} số liệu đã phê duyệt của {period} để sửa"
                    + (" (và mở lại kỳ báo cáo)" if closed else "")
                    + ". Hãy nhập biểu đã sửa; số liệu sẽ được duyệt lại.",
                )
                figures = reverse("admin:targets_figure_changelist")
                return HttpResponseRedirect(f"{figures}?period__id__exact={period.pk}")
        approved = Figure.objects.filter(
            period=period, state=models.WorkflowState.APPROVED
        ).count()
        context = {
            **self.admin_site.each_context(request),
            "title": f"Mở lại {period} để sửa số liệu",
            "opts": self.model._meta,
            "period": period,
            "closed": closed,
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
    from Figure.clean once the target is chosen). The workflow (submit, approve,
    return, reopen) is not edited here: it has its pages and its rules."""

    value = VietnameseDecimalField(
        label="số liệu",
        decimal_places=models.VALUE_DECIMAL_PLACES,
        allow_negative=True,
    )

    class Meta:
        model = Figure
        fields = ["target", "period", "value", "kind", "note", "is_demo"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.target_id:
            target = self.instance.target
            self.fields["value"].decimal_places = target.decimal_places
            self.fields["value"].allow_negative = target.allows_negative


def _locked(obj) -> bool:
    return obj is not None and lock_reason(obj.state, obj.period) is not None


def _closed(obj) -> bool:
    return obj is not None and obj.period.state == models.PeriodState.CLOSED


@admin.register(Figure)
class FigureAdmin(SafeIdsMixin, SpreadsheetAdmin, SimpleHistoryAdmin):
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

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not _locked(obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not _locked(obj)

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(
            objs, request
        )
        for figure in objs:
            reason = lock_reason(figure.state, figure.period)
            if reason:
                protected.append(f"{figure} – {reason}")
        if protected:
            # The page then names each locked figure instead of a missing right.
            perms_needed.discard(Figure._meta.verbose_name)
        return deleted, counts, perms_needed, protected

    def change_view(self, request, object_id, form_url="", extra_context=None):
        figure = self.get_object(request, object_id)
        if figure is not None and _locked(figure):
            history = reverse("targets:history", args=[figure.target_id])
            messages.warning(
                request,
                format_html(
                    "{} Mở lại có ghi lý do tại trang "
                    '<a href="{}">Lịch sử thay đổi</a> của chỉ tiêu.',
                    lock_reason(figure.state, figure.period),
                    history,
                ),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        if change:
            obj.version += 1
        obj.updated_by = request.user
        obj._change_reason = models.VIA_ADMIN
        super().save_model(request, obj, form, change)


@admin.register(Assessment)
class AssessmentAdmin(SafeIdsMixin, SimpleHistoryAdmin):
    """A verdict of a closed quarter is kept as it is (Assessment.clean says why)."""

    list_display = ["target", "period", "verdict", "assessed_by", "assessed_at"]
    list_filter = ["period", "verdict"]
    search_fields = ["target__code", "target__name", "reason"]
    list_select_related = ["target", "period", "assessed_by"]
    autocomplete_fields = ["target"]

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not _closed(obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not _closed(obj)

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(
            objs, request
        )
        for item in objs:
            if _closed(item):
                protected.append(f"{item} – {item.period} đã khóa sổ")
        if protected:
            perms_needed.discard(Assessment._meta.verbose_name)
        return deleted, counts, perms_needed, protected

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
