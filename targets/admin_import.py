"""Spreadsheet import and export in the admin (django-import-export 4.4.3): the upload
form, the signed preview and its confirm, the Vietnamese log entries, and exports in
the safe formats of targets.spreadsheets. Every ModelAdmin that imports or exports
mixes in `SpreadsheetAdmin` (targets.admin)."""

import hashlib
import logging
import os

from django import forms
from django.contrib import messages
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.text import slugify
from django.views.decorators.http import require_POST
from import_export.admin import ImportExportMixin
from import_export.forms import ConfirmImportForm, ExportForm, ImportForm
from import_export.results import RowResult

from .admin_preview import figure_template_response, import_choices, proposal_view
from .import_base import plan_digest, totals_line
from .models import Figure
from .numbers import format_decimal, format_megabytes
from .rules import can_import
from .sheets import CommuneCSV, CommuneFigureResource, CommuneXLSX
from .spreadsheet_limits import (
    MAX_COLUMNS,
    SpreadsheetRejected,
    check_size,
    max_bytes,
    max_rows,
)
from .spreadsheets import SafeCSV, SafeXLSX, format_for_name

logger = logging.getLogger(__name__)


PREVIEW_SALT = "targets.admin.import-preview"
PREVIEW_MAX_AGE = 60 * 60  # seconds during which a preview can be confirmed


class PreviewRefused(Exception):
    """A confirm whose preview cannot be imported as it was previewed."""

    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem


def confirm_problem(result, plan: str) -> str | None:
    """Why a confirmed import writes nothing, or None: errors in the file, or a plan
    other than the preview's (the data changed meanwhile)."""
    if result.has_errors() or result.has_validation_errors():
        return "Tệp có lỗi (xem danh sách bên dưới)."
    if plan_digest(result) != plan:
        return (
            "Dữ liệu đã thay đổi kể từ lúc xem trước (có người vừa sửa, "
            "duyệt số liệu hoặc khóa kỳ báo cáo)."
        )
    return None


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
    IMPORT_LOG_ENTRIES = {
        RowResult.IMPORT_TYPE_NEW: (ADDITION, "Thêm bằng nhập bảng tính"),
        RowResult.IMPORT_TYPE_UPDATE: (CHANGE, "Sửa bằng nhập bảng tính"),
        RowResult.IMPORT_TYPE_DELETE: (DELETION, "Xóa bằng nhập bảng tính"),
    }

    def generate_log_entries(self, result, request):
        """The library's public hook (called by process_result): one LogEntry per
        imported row, grouped by kind of change as the library groups them, with
        the Vietnamese words."""
        if self.get_skip_admin_log():
            return
        rows: dict[str, list] = {}
        for row in result:
            rows.setdefault(row.import_type, []).append(row.instance)
        for import_type, instances in rows.items():
            if import_type not in self.IMPORT_LOG_ENTRIES:
                continue
            flag, words = self.IMPORT_LOG_ENTRIES[import_type]
            LogEntry.objects.log_actions(
                request.user.pk,
                instances,
                flag,
                change_message=words,
                single_object=len(instances) == 1,
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

    def stored_file(self, name: str):
        """The upload the preview kept in the library's temporary storage (its
        public class and constructor, as process_import builds it), read as bytes."""
        return self.get_tmp_storage_class()(
            name=os.path.basename(name),
            encoding=None,
            read_mode="rb",
            **self.get_tmp_storage_class_kwargs(),
        )

    def import_action(self, request, **kwargs):
        request._import_choices = import_choices(request.POST)
        if request.method == "POST" and request.POST.get("stored"):
            refused = self._reupload(request)
            if refused is not None:
                return refused
        response = super().import_action(request, **kwargs)
        context = getattr(response, "context_data", None)
        if context is None:
            return response
        context["title"] = "Nhập từ bảng tính"
        confirm = context.get("confirm_form")
        # Set by the library's import_action on the upload it stored (4.4.3; the
        # guard in test_import_export.LibraryContractTests fails if it changes).
        stored = getattr(request.FILES.get("import_file"), "tmp_storage_name", None)
        proposal = getattr(context.get("result"), "proposal", None)
        if proposal is not None:
            context["proposal"] = proposal_view(proposal, request._import_choices)
            kept = (
                confirm.initial["import_file_name"] if confirm is not None else stored
            )
            if kept:
                context["remap"] = self._remap(request, kept)
                stored = None
        if confirm is not None:
            confirm.initial["preview"] = self._preview_token(
                request, confirm.initial, context["result"]
            )
        elif stored:
            self._forget(stored)
        return response

    def _reupload(self, request):
        """For "Xem trước lại" with the administrator's choices: the file previewed
        a moment ago, kept on the server under a signed name, becomes the upload
        again; or the upload page, when the name is not one we signed any more."""
        try:
            kept = signing.loads(
                request.POST["stored"], salt=PREVIEW_SALT, max_age=PREVIEW_MAX_AGE
            )
            storage = self.stored_file(kept["file"])
            data = storage.read()
        except (signing.BadSignature, OSError, KeyError):
            return self._import_page(
                request, "Phiên xem trước không hợp lệ hoặc đã quá một giờ."
            )
        storage.remove()
        request.FILES["import_file"] = SimpleUploadedFile(kept["name"], data)
        return None

    def _remap(self, request, kept: str) -> dict:
        """What "Xem trước lại" posts with choices made in the preview (a column, a
        row, "Gửi duyệt"), whether or not this preview can be confirmed."""
        name = {
            "file": os.path.basename(kept),
            "name": request.FILES["import_file"].name,
        }
        return {
            "stored": signing.dumps(name, salt=PREVIEW_SALT),
            "resource": request.POST.get("resource", "0"),
            "format": request.POST.get("format", "0"),
        }

    def _preview_token(self, request, initial: dict, result) -> str:
        """The confirm form's signed token: the stored file's digest, the preview's
        plan and the choices it was made with (see process_import)."""
        data = self.stored_file(initial["import_file_name"]).read()
        return signing.dumps(
            {
                "file": os.path.basename(initial["import_file_name"]),
                "format": str(initial["format"]),
                "resource": str(initial.get("resource") or ""),
                "sha256": hashlib.sha256(data).hexdigest(),
                "plan": plan_digest(result),
                "choices": request._import_choices,
            },
            salt=PREVIEW_SALT,
        )

    def _forget(self, stored: str) -> None:
        """A refused file is not kept on the server."""
        try:
            self.stored_file(stored).remove()
        except OSError:
            pass

    @method_decorator(require_POST)
    def process_import(self, request, **kwargs):
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = self.create_confirm_form(request)
        if not form.is_valid():
            return self._import_page(request, "Thiếu thông tin xác nhận nhập.")
        try:
            token, storage, dataset = self._previewed(form.cleaned_data)
        except PreviewRefused as refused:
            return self._import_page(request, refused.problem)
        request._import_choices = token.get("choices", {})
        with transaction.atomic():
            result = self.process_dataset(dataset, form, request, **kwargs)
            problem = confirm_problem(result, token["plan"])
            if problem:
                transaction.set_rollback(True)
            else:
                response = self.process_result(result, request)
        if problem:
            return self._import_page(request, problem, result)
        storage.remove()
        return response

    def _previewed(self, data: dict):
        """The signed token, the stored file and its dataset of the preview being
        confirmed; PreviewRefused when the token, the file or a choice is not the
        preview's any more."""
        try:
            token = signing.loads(
                data["preview"], salt=PREVIEW_SALT, max_age=PREVIEW_MAX_AGE
            )
        except signing.BadSignature:
            raise PreviewRefused(
                "Phiên xem trước không hợp lệ hoặc đã quá một giờ."
            ) from None
        storage = self.stored_file(data["import_file_name"])
        try:
            raw = storage.read()
        except OSError:
            raise PreviewRefused("Tệp đã xem trước không còn trên máy.") from None
        if token != {
            "file": data["import_file_name"],
            "format": data["format"],
            "resource": data.get("resource") or "",
            "sha256": hashlib.sha256(raw).hexdigest(),
            "plan": token["plan"],
            "choices": token.get("choices", {}),
        }:
            raise PreviewRefused("Tệp hoặc lựa chọn khác lúc xem trước.")
        input_format = self.get_import_formats()[int(data["format"])]()
        try:
            return token, storage, input_format.create_dataset(raw)
        except SpreadsheetRejected as error:
            raise PreviewRefused(error.message) from None

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
