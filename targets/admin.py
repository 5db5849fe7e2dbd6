from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

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
)
from .numbers import format_decimal


@admin.display(description="kế hoạch", ordering="target_value")
def planned(obj):
    return format_decimal(obj.target_value)


@admin.display(description="số liệu", ordering="value")
def figure_value(obj):
    return format_decimal(obj.value)


@admin.register(Commune)
class CommuneAdmin(admin.ModelAdmin):
    list_display = ["name", "province"]
    search_fields = ["name", "province"]


class IndicatorInline(admin.TabularInline):
    model = Indicator
    extra = 0
    fields = ["number", "area", "text"]


@admin.register(Resolution)
class ResolutionAdmin(admin.ModelAdmin):
    list_display = ["number", "title", "commune", "adopted_on", "plan_year"]
    list_filter = ["commune", "plan_year"]
    search_fields = ["number", "title"]
    date_hierarchy = "adopted_on"
    inlines = [IndicatorInline]


class TargetInline(admin.TabularInline):
    model = Target
    extra = 0
    fields = ["code", "name", "unit", "target_value", "comparison", "combine", "path"]
    show_change_link = True


@admin.register(Indicator)
class IndicatorAdmin(admin.ModelAdmin):
    list_display = ["number", "area", "short_text", "resolution"]
    list_filter = ["resolution", "area"]
    search_fields = ["text"]
    inlines = [TargetInline]

    @admin.display(description="nội dung")
    def short_text(self, obj):
        return obj.text[:100]


class AssignmentInline(admin.TabularInline):
    model = Assignment
    extra = 0
    fields = ["body", "role", "is_assumption", "note"]
    autocomplete_fields = ["body"]


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
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
class TaskAdmin(admin.ModelAdmin):
    list_display = ["kind", "number", "summary", "resolution"]
    list_filter = ["resolution", "kind"]
    search_fields = ["text"]
    inlines = [AssignmentInline]


@admin.register(ResponsibleBody)
class ResponsibleBodyAdmin(admin.ModelAdmin):
    list_display = ["name", "short_name", "kind", "named_in_text", "commune"]
    list_filter = ["commune", "kind", "named_in_text"]
    search_fields = ["name", "short_name"]
    filter_horizontal = ["members"]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["body", "role", "target", "task", "is_assumption"]
    list_filter = ["role", "is_assumption", "body"]
    search_fields = ["body__name", "target__code", "target__name", "task__text"]
    list_select_related = ["body", "target", "task"]
    autocomplete_fields = ["body", "target", "task"]


@admin.register(ReportingPeriod)
class ReportingPeriodAdmin(admin.ModelAdmin):
    list_display = ["__str__", "data_from", "data_to", "deadline", "state", "commune"]
    list_filter = ["commune", "year", "state"]


@admin.register(Figure)
class FigureAdmin(SimpleHistoryAdmin):
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
    readonly_fields = ["version", "updated_at", "updated_by"]


@admin.register(Assessment)
class AssessmentAdmin(SimpleHistoryAdmin):
    list_display = ["target", "period", "verdict", "assessed_by", "assessed_at"]
    list_filter = ["period", "verdict"]
    search_fields = ["target__code", "target__name", "reason"]
    list_select_related = ["target", "period", "assessed_by"]
    autocomplete_fields = ["target"]
