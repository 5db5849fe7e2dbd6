"""The API's plumbing, named in settings.REST_FRAMEWORK: the anonymous throttle,
the CSV renderer and the error format. Kept apart from reports/api.py because DRF
imports these while it loads its own settings."""

import csv
import io

from django.conf import settings
from django.http import Http404
from rest_framework import exceptions, renderers
from rest_framework.throttling import AnonRateThrottle

from targets.spreadsheet_cells import formula_safe


class AnonymousThrottle(AnonRateThrottle):
    """Anonymous requests, by address; the rate from settings.API_ANON_RATE."""

    def get_rate(self):
        return settings.API_ANON_RATE


class CSVRenderer(renderers.BaseRenderer):
    """?format=csv: one row per item (the list's `results`), nested fields as
    dotted columns, lists joined by "; ". Text a spreadsheet could read as a
    formula gets a leading apostrophe; numbers stay numbers."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, dict) and "results" in data:
            items = data["results"]
        elif isinstance(data, list):
            items = data
        else:
            items = [data]
        rows = [dict(_flat(item)) for item in items]
        columns: list[str] = []
        for row in rows:
            columns += [c for c in row if c not in columns]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
        # The BOM lets Excel open the Vietnamese text as UTF-8.
        return ("\ufeff" + out.getvalue()).encode("utf-8")


def _flat(value, prefix=""):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _flat(item, f"{prefix}{key}.")
    elif isinstance(value, list):
        parts = []
        for item in value:
            if isinstance(item, dict):
                parts.append("=".join(str(v) for v in item.values()))
            else:
                parts.append(str(item))
        yield prefix.rstrip("."), "; ".join(parts)
    else:
        yield prefix.rstrip("."), value


def _cell(value) -> str:
    if value is None:
        return ""
    text = str(value)
    try:
        float(text)
    except ValueError:
        return formula_safe(text)
    return text


# Vietnamese words for the errors DRF raises itself (its own would follow the
# client's Accept-Language).
MESSAGES = {
    exceptions.NotAuthenticated: "Cần mã truy cập (Authorization: Bearer <mã>).",
    exceptions.PermissionDenied: "Tài khoản này không được làm việc này.",
    exceptions.NotFound: "Không tìm thấy.",
    exceptions.MethodNotAllowed: "Phương thức không được hỗ trợ ở địa chỉ này.",
    exceptions.ParseError: "Nội dung gửi lên không phải JSON hợp lệ.",
    exceptions.UnsupportedMediaType: "Chỉ nhận nội dung JSON (application/json).",
    exceptions.NotAcceptable: "Chỉ trả về JSON hoặc CSV.",
    exceptions.Throttled: "Quá nhiều yêu cầu; vui lòng thử lại sau ít phút.",
}


def _errors(detail, field=""):
    """DRF's nested ValidationError detail as [{field, message}]."""
    if isinstance(detail, dict):
        for key, item in detail.items():
            if isinstance(key, int):
                name = f"{field}[{key}]"
            else:
                name = f"{field}.{key}" if field else str(key)
            yield from _errors(item, name)
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            if isinstance(item, (dict, list)):
                yield from _errors(item, f"{field}[{index}]")
            else:
                yield {"field": field or "non_field_errors", "message": str(item)}
    else:
        yield {"field": field or "non_field_errors", "message": str(detail)}


def api_exception_handler(exc, context):
    """Every error as {"detail": message, "errors": [{"field", "message"}]}, in
    Vietnamese."""
    from rest_framework.views import exception_handler

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "detail": "Dữ liệu gửi lên không hợp lệ.",
            "errors": list(_errors(exc.detail)),
        }
    elif isinstance(exc, Http404):
        response.data = {"detail": str(exc) or "Không tìm thấy.", "errors": []}
    else:
        message = next(
            (m for cls, m in MESSAGES.items() if type(exc) is cls), str(exc.detail)
        )
        response.data = {"detail": message, "errors": []}
    return response
