"""Spreadsheet import and export of the resolution's structure (django-import-export):
responsible bodies, indicators, targets, tasks and assignments, one resource each,
through the library's per-row path (get the row, set the fields, full_clean, save).

Rows are keyed by natural keys (a body by commune + province + name, a target by
resolution number + code…), under Vietnamese column headers; choice columns take the
Vietnamese labels. What every import guarantees is in targets.import_base; the cells
are read by targets.import_cells, the keys found by targets.import_lookups. Figures
are imported as one batch by targets.figure_import.
"""

from django.core.exceptions import ValidationError
from import_export.widgets import Widget

from .import_base import KhoenOnResource
from .import_cells import (
    BODY_NAME,
    RESOLUTION,
    TARGET_CODE,
    TASK_NUMBER,
    ChoiceWidget,
    Computed,
    IntegerWidget,
    KeyWidget,
    TextWidget,
    YesNoWidget,
    clean_key,
    decimal_field,
    is_native,
    key_text,
    model_field,
    read_integer,
)
from .models import (
    Area,
    Assignment,
    BodyKind,
    Combine,
    Comparison,
    ExpectedPath,
    Indicator,
    ResponsibleBody,
    Role,
    Target,
    Task,
    TaskKind,
)


class ResponsibleBodyResource(KhoenOnResource):
    key_columns = ("Xã", "Tỉnh", BODY_NAME)
    error_columns = {"commune": "Xã", "name": BODY_NAME}
    export_related = ("commune",)

    commune = Computed("Xã", lambda b: b.commune.name, KeyWidget())
    province = Computed("Tỉnh", lambda b: b.commune.province, KeyWidget())
    name = Computed(BODY_NAME, lambda b: b.name, KeyWidget())
    short_name = model_field("short_name", "Tên viết tắt", KeyWidget())
    kind = model_field("kind", "Loại", ChoiceWidget(BodyKind))
    named_in_text = model_field(
        "named_in_text", "Có tên trong nghị quyết", YesNoWidget(default=False)
    )
    role_in_text = model_field("role_in_text", "Vai trò theo nghị quyết", TextWidget())

    class Meta(KhoenOnResource.Meta):
        model = ResponsibleBody
        fields = (
            "commune",
            "province",
            "name",
            "short_name",
            "kind",
            "named_in_text",
            "role_in_text",
        )
        import_id_fields = ("commune", "province", "name")

    def find(self, row):
        errors = {}
        commune = self.read_key(
            errors, "Xã", lambda: self.lookups.commune(row["Tỉnh"], row["Xã"])
        )
        name = self.required_key(errors, BODY_NAME, lambda: clean_key(row[BODY_NAME]))
        if errors:
            raise ValidationError(errors)
        body = self.lookups.bodies.get((commune.pk, key_text(name)))
        return body, {"commune": commune, "name": name}, (commune.pk, key_text(name))


class IndicatorResource(KhoenOnResource):
    key_columns = (RESOLUTION, "Số chỉ tiêu")
    error_columns = {"resolution": RESOLUTION, "number": "Số chỉ tiêu"}
    export_related = ("resolution",)

    resolution = Computed(RESOLUTION, lambda i: i.resolution.number, KeyWidget())
    number = Computed("Số chỉ tiêu", lambda i: i.number, IntegerWidget())
    area = model_field("area", "Lĩnh vực", ChoiceWidget(Area))
    text = model_field("text", "Nội dung nguyên văn", TextWidget())

    class Meta(KhoenOnResource.Meta):
        model = Indicator
        fields = ("resolution", "number", "area", "text")
        import_id_fields = ("resolution", "number")

    def find(self, row):
        errors = {}
        resolution = self.resolution_key(errors, row)
        number = self.required_key(
            errors, "Số chỉ tiêu", lambda: read_integer(row["Số chỉ tiêu"])
        )
        if errors:
            raise ValidationError(errors)
        indicator = self.lookups.indicators.get((resolution.pk, number))
        attrs = {"resolution": resolution, "number": number}
        return indicator, attrs, (resolution.pk, number)


class IndicatorWidget(Widget):
    """The indicator number of a target, found in the row's resolution."""

    resource = None

    def bind(self, resource: KhoenOnResource) -> None:
        self.resource = resource

    def clean(self, value, row=None, **kwargs) -> Indicator | None:
        if read_integer(value) is None:
            return None
        resolution = self.resource.lookups.resolution(row[RESOLUTION])
        return self.resource.lookups.indicator(resolution, value)

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return value.number if is_native(kwargs) else str(value.number)


class TargetResource(KhoenOnResource):
    key_columns = (RESOLUTION, TARGET_CODE)
    error_columns = {"indicator": "Số chỉ tiêu", "code": TARGET_CODE}
    export_related = ("indicator__resolution",)

    resolution = Computed(
        RESOLUTION, lambda t: t.indicator.resolution.number, KeyWidget()
    )
    code = Computed(TARGET_CODE, lambda t: t.code, KeyWidget())
    indicator = model_field("indicator", "Số chỉ tiêu", IndicatorWidget())
    # An empty cell takes the model's default (the path: "Tiến dần từ điểm xuất phát").
    order = model_field("order", "Thứ tự", IntegerWidget(default=0))
    name = model_field("name", "Tên chỉ tiêu cụ thể", TextWidget())
    unit = model_field("unit", "Đơn vị tính", KeyWidget())
    target_value = decimal_field("target_value", "Kế hoạch")
    comparison = model_field("comparison", "Cách so sánh", ChoiceWidget(Comparison))
    combine = model_field("combine", "Cách cộng các quý", ChoiceWidget(Combine))
    path = model_field(
        "path",
        "Lộ trình kỳ vọng",
        ChoiceWidget(ExpectedPath, default=ExpectedPath.FROM_START),
    )
    baseline = decimal_field("baseline", "Điểm xuất phát")
    min_value = decimal_field("min_value", "Giới hạn nhỏ nhất")
    max_value = decimal_field("max_value", "Giới hạn lớn nhất")
    decimal_places = model_field(
        "decimal_places", "Số chữ số thập phân tối đa", IntegerWidget(default=2)
    )
    allows_negative = model_field(
        "allows_negative", "Cho phép số âm", YesNoWidget(default=False)
    )
    window_start_year = model_field("window_start_year", "Tính từ năm", IntegerWidget())
    window_start_quarter = model_field(
        "window_start_quarter", "Tính từ quý", IntegerWidget(roman=True, default=1)
    )
    window_end_year = model_field("window_end_year", "Đến năm", IntegerWidget())
    window_end_quarter = model_field(
        "window_end_quarter", "Đến quý", IntegerWidget(roman=True, default=4)
    )
    profile_q1 = decimal_field("profile_q1", "Tỷ trọng quý I (%)", 2, False)
    profile_q2 = decimal_field("profile_q2", "Tỷ trọng quý II (%)", 2, False)
    profile_q3 = decimal_field("profile_q3", "Tỷ trọng quý III (%)", 2, False)
    profile_q4 = decimal_field("profile_q4", "Tỷ trọng quý IV (%)", 2, False)
    clause = model_field("clause", "Trích nguyên văn nghị quyết", TextWidget())
    reading_note = model_field("reading_note", "Ghi chú cách hiểu", TextWidget())

    class Meta(KhoenOnResource.Meta):
        model = Target
        fields = (
            "resolution",
            "code",
            "indicator",
            "order",
            "name",
            "unit",
            "target_value",
            "comparison",
            "combine",
            "path",
            "baseline",
            "min_value",
            "max_value",
            "decimal_places",
            "allows_negative",
            "window_start_year",
            "window_start_quarter",
            "window_end_year",
            "window_end_quarter",
            "profile_q1",
            "profile_q2",
            "profile_q3",
            "profile_q4",
            "clause",
            "reading_note",
        )
        import_id_fields = ("resolution", "code")

    def find(self, row):
        errors = {}
        resolution = self.resolution_key(errors, row)
        code = self.required_key(
            errors, TARGET_CODE, lambda: clean_key(row[TARGET_CODE])
        )
        if errors:
            raise ValidationError(errors)
        target = self.lookups.targets.get((resolution.pk, key_text(code)))
        return target, {"code": code}, (resolution.pk, key_text(code))


class TaskResource(KhoenOnResource):
    key_columns = (RESOLUTION, "Loại", "Thứ tự")
    error_columns = {"resolution": RESOLUTION, "kind": "Loại", "number": "Thứ tự"}
    export_related = ("resolution",)

    resolution = Computed(RESOLUTION, lambda t: t.resolution.number, KeyWidget())
    kind = Computed("Loại", lambda t: t.kind, ChoiceWidget(TaskKind))
    number = Computed("Thứ tự", lambda t: t.number, IntegerWidget())
    text = model_field("text", "Nội dung nguyên văn", TextWidget())

    class Meta(KhoenOnResource.Meta):
        model = Task
        fields = ("resolution", "kind", "number", "text")
        import_id_fields = ("resolution", "kind", "number")

    def find(self, row):
        errors = {}
        resolution = self.resolution_key(errors, row)
        kind = self.required_key(
            errors, "Loại", lambda: self.fields["kind"].widget.clean(row["Loại"])
        )
        number = self.required_key(
            errors, "Thứ tự", lambda: read_integer(row["Thứ tự"])
        )
        if errors:
            raise ValidationError(errors)
        task = self.lookups.tasks.get((resolution.pk, kind, number))
        attrs = {"resolution": resolution, "kind": kind, "number": number}
        return task, attrs, (resolution.pk, kind, number)


def _assignment_resolution(assignment: Assignment) -> str:
    if assignment.target_id:
        return assignment.target.indicator.resolution.number
    return assignment.task.resolution.number


class AssignmentResource(KhoenOnResource):
    key_columns = (RESOLUTION, BODY_NAME, TARGET_CODE, "Loại nhiệm vụ", TASK_NUMBER)
    error_columns = {"body": BODY_NAME, "target": TARGET_CODE, "task": TASK_NUMBER}
    export_related = ("body", "target__indicator__resolution", "task__resolution")

    resolution = Computed(RESOLUTION, _assignment_resolution, KeyWidget())
    body = Computed(BODY_NAME, lambda a: a.body.name, KeyWidget())
    target = Computed(TARGET_CODE, lambda a: a.target.code, KeyWidget())
    task_kind = Computed("Loại nhiệm vụ", lambda a: a.task.kind, ChoiceWidget(TaskKind))
    task_number = Computed(TASK_NUMBER, lambda a: a.task.number, IntegerWidget())
    role = model_field("role", "Vai trò", ChoiceWidget(Role))
    is_assumption = model_field("is_assumption", "Giả định", YesNoWidget(default=True))
    note = model_field("note", "Ghi chú", TextWidget())

    class Meta(KhoenOnResource.Meta):
        model = Assignment
        fields = (
            "resolution",
            "body",
            "target",
            "task_kind",
            "task_number",
            "role",
            "is_assumption",
            "note",
        )
        import_id_fields = ("resolution", "body", "target", "task_kind", "task_number")

    def find(self, row):
        errors = {}
        lookups = self.lookups
        resolution = self.resolution_key(errors, row)
        body = resolution and self.read_key(
            errors, BODY_NAME, lambda: lookups.body(resolution.commune, row[BODY_NAME])
        )
        kind = self.read_key(
            errors,
            "Loại nhiệm vụ",
            lambda: self.fields["task_kind"].widget.clean(row["Loại nhiệm vụ"]),
        )
        number = self.read_key(
            errors, TASK_NUMBER, lambda: read_integer(row[TASK_NUMBER])
        )
        has_code = bool(key_text(row[TARGET_CODE]))
        if has_code == (kind is not None or number is not None):
            errors.setdefault(TARGET_CODE, []).append(
                "Mỗi dòng phân công ghi đúng một trong hai: mã chỉ tiêu, hoặc loại "
                "và thứ tự nhiệm vụ."
            )
        elif not has_code and (kind is None or number is None):
            column = "Loại nhiệm vụ" if kind is None else TASK_NUMBER
            errors.setdefault(column, []).append(
                "Ghi cả loại (Nhiệm vụ hoặc Giải pháp) và thứ tự của nhiệm vụ."
            )
        target = task = None
        if resolution and not errors:
            if has_code:
                target = self.read_key(
                    errors,
                    TARGET_CODE,
                    lambda: lookups.target(resolution, row[TARGET_CODE]),
                )
            else:
                task = self.read_key(
                    errors, TASK_NUMBER, lambda: lookups.task(resolution, kind, number)
                )
        if errors:
            raise ValidationError(errors)
        identity = (body.pk, getattr(target, "pk", None), getattr(task, "pk", None))
        attrs = {"body": body, "target": target, "task": task}
        return lookups.assignments.get(identity), attrs, identity
