"""The versioned JSON/CSV API (/api/v1/). Reads present the one judgement (the
progress loaders), never a second computation; anonymous clients see exactly what
the public pages show (reports/public.py). With a token (reports/tokens.py) a client
acts as the token's user: it reads what the user may read and, for a clerk, saves
and submits figures through `targets.entry.entry_save`, the entry page's path.

Function views with @api_view: each reads top to bottom like the pages' views, and
the schema comes from the @extend_schema beside it.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_not_required
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.http import conditional_page
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import api_view
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from targets import rules
from targets.entry import RowErrors, entry_save, entry_scope
from targets.forms import BadPost, read_entry
from targets.models import (
    VIA_API,
    Figure,
    Indicator,
    ReportingPeriod,
    Resolution,
    Target,
    WorkflowState,
)
from targets.progress_load import load_resolution_progress
from targets.services import WorkflowError

from . import serializers as s
from .page_cache import kept, page_key
from .public import public_only

PUBLIC_MAX_AGE = 60


# --- plumbing: headers, pages, filters -------------------------------------------


class Pages(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
    invalid_page_message = "Trang không tồn tại."


def _finish(request, response):
    """Anonymous answers may be kept by any proxy; a user's never."""
    patch_vary_headers(response, ["Authorization", "Cookie"])
    if request.user.is_authenticated:
        patch_cache_control(response, private=True, no_store=True)
    else:
        patch_cache_control(response, public=True, max_age=PUBLIC_MAX_AGE)
    return response


def _paged(request, items, serializer_class, context=None):
    pages = Pages()
    page = pages.paginate_queryset(items, request)
    data = serializer_class(page, many=True, context=context or {}).data
    return _finish(request, pages.get_paginated_response(data))


def _paged_schema(serializer_class, name: str):
    return inline_serializer(
        name=name,
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer_class(many=True),
        },
    )


def _id_param(request, name: str) -> int | None:
    raw = request.query_params.get(name, "")
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise exceptions.ValidationError({name: ["Phải là một số nguyên dương."]})
    return int(raw)


def _anonymous(request) -> bool:
    return not request.user.is_authenticated


def _reader(request) -> bool:
    return rules.can_read_reports(request.user)


def read_view(func):
    """An anonymous-friendly GET: no login, an ETag (a digest of the content, 304
    on a repeat), anonymous requests throttled."""
    return login_not_required(conditional_page(func))


def kept_when_anonymous(func):
    """Under @api_view (after authentication and throttling): an anonymous read is
    open data, the same for everyone who is not logged in, so its answer is kept in
    the shared pages cache (reports.page_cache) under the data version, the address
    and the query. A token or a session may see what is not public (quarters not
    published, figures not approved, whose changes do not move the version): their
    answers are drawn afresh every time. Only a 200 is kept; refusals are raised."""

    @wraps(func)
    def view(request, *args, **kwargs):
        if not _anonymous(request):
            return func(request, *args, **kwargs)
        address = request.build_absolute_uri(request.path)
        key = page_key("api", address, sorted(request.query_params.lists()))

        def draw():
            response = func(request, *args, **kwargs)
            return response.data if response.status_code == 200 else response

        data = kept(key, draw)
        if isinstance(data, HttpResponse):
            return data
        return _finish(request, Response(data))

    return view


ERROR = OpenApiResponse(s.ErrorSerializer, description="Lỗi, kèm thông điệp.")
NOT_FOUND = OpenApiResponse(
    s.ErrorSerializer, description="Không có hoặc chưa công bố."
)
BAD_FILTER = OpenApiResponse(s.ErrorSerializer, description="Tham số lọc không hợp lệ.")
FORMAT = OpenApiParameter(
    "format", str, enum=["json", "csv"], description="json (mặc định) hoặc csv."
)
PAGE = [
    OpenApiParameter("page", int, description="Trang (từ 1)."),
    OpenApiParameter("page_size", int, description="Số mục mỗi trang (≤ 1000)."),
]
RESOLUTION = OpenApiParameter("resolution", int, description="Lọc theo nghị quyết.")
INDICATOR = OpenApiParameter("indicator", int, description="Lọc theo chỉ tiêu.")
PERIOD = OpenApiParameter("period", int, description="Lọc theo kỳ báo cáo.")


def _filtered_page(serializer_class, name: str) -> dict:
    """A filtered list's answers: a page of items, a filter that is not an id, a
    resolution or period that does not exist or is not public."""
    return {
        200: _paged_schema(serializer_class, name),
        400: BAD_FILTER,
        404: NOT_FOUND,
    }


# --- reads ------------------------------------------------------------------------


@read_view
@extend_schema(
    operation_id="api_index",
    summary="Danh mục các địa chỉ của API",
    responses={
        200: inline_serializer("ApiIndex", {"version": serializers.CharField()})
    },
)
@api_view(["GET"])
def index(request):
    return _finish(
        request,
        Response(
            {
                "version": "v1",
                "resolutions": "/api/v1/resolutions/",
                "indicators": "/api/v1/indicators/",
                "targets": "/api/v1/targets/",
                "periods": "/api/v1/periods/",
                "figures": "/api/v1/figures/",
                "progress": "/api/v1/progress/",
                "schema": "/api/schema/",
            }
        ),
    )


def _resolutions():
    return Resolution.objects.select_related("commune").defer(
        "source_text", "legal_bases", "considered"
    )


@read_view
@extend_schema(
    operation_id="resolutions_list",
    summary="Các nghị quyết",
    parameters=[FORMAT, *PAGE],
    responses={200: _paged_schema(s.ResolutionSerializer, "ResolutionPage")},
)
@api_view(["GET"])
@kept_when_anonymous
def resolutions(request):
    return _paged(
        request, _resolutions().order_by("-adopted_on", "pk"), s.ResolutionSerializer
    )


class ResolutionDetailSerializer(s.ResolutionSerializer):
    legal_bases = serializers.CharField()
    source_text = serializers.CharField()


@read_view
@extend_schema(
    operation_id="resolutions_retrieve",
    summary="Một nghị quyết, kèm căn cứ và toàn văn",
    parameters=[FORMAT],
    responses={200: ResolutionDetailSerializer, 404: NOT_FOUND},
)
@api_view(["GET"])
@kept_when_anonymous
def resolution(request, resolution_id):
    item = Resolution.objects.select_related("commune").filter(pk=resolution_id).first()
    if item is None:
        raise Http404("Không có nghị quyết này.")
    return _finish(request, Response(ResolutionDetailSerializer(item).data))


def _resolution(request) -> Resolution | None:
    pk = _id_param(request, "resolution")
    if pk is None:
        return None
    found = _resolutions().filter(pk=pk).first()
    if found is None:
        raise Http404("Không có nghị quyết này.")
    return found


@read_view
@extend_schema(
    summary="Các chỉ tiêu (đánh số (1)–(11) trong nghị quyết)",
    parameters=[RESOLUTION, FORMAT, *PAGE],
    responses=_filtered_page(s.IndicatorSerializer, "IndicatorPage"),
)
@api_view(["GET"])
@kept_when_anonymous
def indicators(request):
    items = Indicator.objects.order_by("resolution", "number")
    chosen = _resolution(request)
    if chosen is not None:
        items = items.filter(resolution=chosen)
    return _paged(request, items, s.IndicatorSerializer)


@read_view
@extend_schema(
    summary="Các chỉ tiêu cụ thể: cách so sánh, đơn vị, khoảng giá trị, kỳ đánh giá, "
    "trích dẫn nghị quyết",
    parameters=[RESOLUTION, INDICATOR, FORMAT, *PAGE],
    responses=_filtered_page(s.TargetSerializer, "TargetPage"),
)
@api_view(["GET"])
@kept_when_anonymous
def targets(request):
    items = Target.objects.select_related("indicator").order_by(
        "indicator__resolution", "indicator__number", "order", "code"
    )
    chosen = _resolution(request)
    if chosen is not None:
        items = items.filter(indicator__resolution=chosen)
    indicator = _id_param(request, "indicator")
    if indicator is not None:
        items = items.filter(indicator_id=indicator)
    return _paged(request, items, s.TargetSerializer)


def _periods(request, resolution: Resolution | None) -> list[ReportingPeriod]:
    """The periods the client may see: the public ones for anonymous clients and
    users without a role, every one for readers. One query."""
    items = ReportingPeriod.objects.order_by("commune", "year", "quarter")
    if resolution is not None:
        items = items.filter(commune_id=resolution.commune_id)
    items = list(items)
    return items if _reader(request) else public_only(items)


@read_view
@extend_schema(
    summary="Các kỳ báo cáo (quý); không đăng nhập: chỉ các quý đã công bố",
    parameters=[RESOLUTION, FORMAT, *PAGE],
    responses=_filtered_page(s.PeriodSerializer, "PeriodPage"),
)
@api_view(["GET"])
@kept_when_anonymous
def periods(request):
    return _paged(request, _periods(request, _resolution(request)), s.PeriodSerializer)


@read_view
@extend_schema(
    summary="Số liệu thực hiện; không đăng nhập: chỉ số đã phê duyệt của các quý đã "
    "công bố, không kèm ghi chú",
    parameters=[RESOLUTION, INDICATOR, PERIOD, FORMAT, *PAGE],
    responses=_filtered_page(s.FigureSerializer, "FigurePage"),
)
@api_view(["GET"])
@kept_when_anonymous
def figures(request):
    chosen = _resolution(request)
    items = Figure.objects.select_related("period").order_by(
        "target__indicator__resolution",
        "target__indicator__number",
        "target__order",
        "target__code",
        "period__year",
        "period__quarter",
    )
    public = not _reader(request)
    if public:
        shown = [p.pk for p in _periods(request, chosen)]
        items = items.filter(state=WorkflowState.APPROVED, period_id__in=shown)
    else:
        items = items.filter(target__in=rules.visible_targets(request.user))
    if chosen is not None:
        items = items.filter(target__indicator__resolution=chosen)
    for name, lookup in (
        ("indicator", "target__indicator_id"),
        ("period", "period_id"),
    ):
        pk = _id_param(request, name)
        if pk is not None:
            items = items.filter(**{lookup: pk})
    return _paged(request, items, s.FigureSerializer, {"public": public})


@read_view
@extend_schema(
    summary="Tiến độ mọi chỉ tiêu cụ thể tại một kỳ: trạng thái, đánh giá, ước thực "
    "hiện cả năm và cách tính (một phán định duy nhất, như báo cáo của HĐND)",
    parameters=[
        OpenApiParameter(
            "resolution", int, description="Nghị quyết (mặc định: mới nhất)."
        ),
        OpenApiParameter(
            "period",
            int,
            description="Kỳ (mặc định: quý công bố gần nhất). Không đăng nhập: chỉ "
            "các quý đã công bố.",
        ),
        INDICATOR,
        FORMAT,
        *PAGE,
    ],
    responses=_filtered_page(s.ProgressSerializer, "ProgressPage"),
)
@api_view(["GET"])
@kept_when_anonymous
def progress(request):
    chosen = _resolution(request) or _resolutions().first()
    if chosen is None:
        raise Http404("Chưa có nghị quyết nào.")
    shown = _periods(request, chosen)
    pk = _id_param(request, "period")
    if pk is None:
        public = public_only(shown) if _reader(request) else shown
        period = (public or shown or [None])[-1]
    else:
        period = next((p for p in shown if p.pk == pk), None)
    if period is None:
        raise Http404("Kỳ này không có hoặc chưa được công bố.")
    result = load_resolution_progress(chosen, period)
    items = result.items
    indicator = _id_param(request, "indicator")
    if indicator is not None:
        items = [i for i in items if i.target.indicator_id == indicator]
    return _paged(request, [s.ProgressItem(i) for i in items], s.ProgressSerializer)


# --- writes -------------------------------------------------------------------------


def _row_errors(row):
    """(field, message) of a refused row: the entry page's messages, each put on
    the field it is about."""
    for message in row.errors:
        yield _field_of(row, message), message
    # Sending asks for an explanation and a confirmation of unusual values.
    for message in getattr(row, "note_errors", ()):
        yield "note", message
    for message in getattr(row, "confirm_errors", ()):
        yield "confirm", message


def _field_of(row, message: str) -> str:
    if getattr(row, "conflict", None) is not None or "Xung đột" in message:
        return "version"
    if "giải trình" in message or "Ghi chú" in message:
        return "note"
    return "value"


def _clerk_period(user, period_id) -> ReportingPeriod:
    """The period, for a clerk of its commune; 401, 403 or 404 otherwise."""
    if not user.is_authenticated:
        raise exceptions.NotAuthenticated()
    if not rules.is_clerk(user):
        raise exceptions.PermissionDenied()
    communes = rules.editable_targets(user).values("indicator__resolution__commune")
    period = ReportingPeriod.objects.filter(pk=period_id, commune__in=communes).first()
    if period is None:
        raise Http404("Không có kỳ báo cáo này.")
    return period


def _check_rows(rows_in, targets) -> None:
    """404 for a target the clerk may not edit at the period, 400 for one sent twice."""
    if any(row["target"] not in targets for row in rows_in):
        raise Http404("Chỉ tiêu không thuộc đơn vị của bạn hoặc ngoài kỳ đánh giá.")
    if len({row["target"] for row in rows_in}) != len(rows_in):
        raise exceptions.ValidationError(
            {"figures": ["Mỗi chỉ tiêu chỉ được gửi một lần."]}
        )


def _as_post(rows_in) -> dict:
    """The rows as the entry page's form posts them, for targets.forms.read_entry."""
    post = {}
    for row in rows_in:
        pk = row["target"]
        post |= {
            f"v-{pk}": row["value"],
            f"k-{pk}": row["kind"],
            f"n-{pk}": row["note"],
            f"ver-{pk}": str(row["version"]),
        }
    return post


def _workflow_refusal(request, exc):
    """409: the quarter is closed or past its deadline, or a version conflict."""
    return _finish(
        request,
        Response(
            {"detail": str(exc), "errors": [{"field": "period", "message": str(exc)}]},
            status=status.HTTP_409_CONFLICT,
        ),
    )


def _row_refusal(request, rows_in, figure_rows):
    """Each row's errors on its field (figures[i].value, …): 409 when a version is
    stale, 400 otherwise."""
    index = {row["target"]: i for i, row in enumerate(rows_in)}
    errors = [
        {
            "field": f"figures[{index[row.target_id]}].{field}",
            "target": row.target_id,
            "message": message,
        }
        for row in figure_rows
        for field, message in _row_errors(row)
    ] or [{"field": "figures", "message": "Chưa gửi duyệt được quý này."}]
    stale = any(e["field"].endswith(".version") for e in errors)
    code = status.HTTP_409_CONFLICT if stale else status.HTTP_400_BAD_REQUEST
    return _finish(
        request,
        Response({"detail": "Chưa lưu: có dòng cần sửa.", "errors": errors}, code),
    )


def _saved(request, rows_in, period, counts):
    saved = Figure.objects.select_related("period").filter(
        Q(target_id__in=[row["target"] for row in rows_in]), period=period
    )
    return _finish(
        request,
        Response(
            {
                "saved": counts["saved"],
                "submitted": counts["submitted"],
                "figures": s.FigureSerializer(saved, many=True).data,
            }
        ),
    )


@extend_schema(
    summary="Cán bộ nhập liệu lưu nháp và gửi duyệt số liệu của một quý",
    description="Cùng quy tắc với trang nhập số liệu: số kiểu Việt Nam hoặc kiểu "
    "thường, từ chối số mập mờ, khoảng giá trị, giải trình khi chậm tiến độ, khóa "
    "sổ, xung đột phiên bản; lịch sử ghi đường nhập là API. Tất cả hoặc không: một "
    "dòng lỗi thì không lưu dòng nào.",
    request=s.EntryInputSerializer,
    responses={
        200: s.EntryResultSerializer,
        400: OpenApiResponse(
            s.ErrorSerializer, description="Có dòng lỗi; không lưu gì."
        ),
        401: OpenApiResponse(
            s.ErrorSerializer, description="Thiếu hoặc sai mã truy cập."
        ),
        403: OpenApiResponse(
            s.ErrorSerializer, description="Không phải cán bộ nhập liệu."
        ),
        404: OpenApiResponse(
            s.ErrorSerializer,
            description="Kỳ hoặc chỉ tiêu không thuộc đơn vị của cán bộ.",
        ),
        409: OpenApiResponse(
            s.ErrorSerializer,
            description="Kỳ đã khóa sổ hoặc quá hạn, hoặc xung đột phiên bản.",
        ),
    },
)
@api_view(["POST"])
def period_figures(request, period_id):
    user = request.user
    period = _clerk_period(user, period_id)
    data = s.EntryInputSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    rows_in = data.validated_data["figures"]
    targets, tasks = entry_scope(user, period)
    _check_rows(rows_in, targets)
    try:
        figure_rows, _ = read_entry(_as_post(rows_in), targets, tasks)
        counts = entry_save(
            user=user,
            period=period,
            figure_rows=figure_rows,
            task_rows=[],
            targets=targets,
            tasks=tasks,
            submit=data.validated_data["submit"],
            today=timezone.localdate(),
            via=VIA_API,
            confirmed={row["target"] for row in rows_in if row["confirm"]},
        )
    except BadPost:
        raise exceptions.ValidationError(
            {"figures": ["Dữ liệu không hợp lệ."]}
        ) from None
    except WorkflowError as exc:
        return _workflow_refusal(request, exc)
    except RowErrors:
        return _row_refusal(request, rows_in, figure_rows)
    return _saved(request, rows_in, period, counts)
