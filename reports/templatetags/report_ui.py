"""Status badges and server-drawn bars: text and icon beside every colour, no script."""

from django import template
from django.utils.html import format_html, format_html_join

from reports import presentation
from targets.numbers import unit_suffix

register = template.Library()


@register.simple_tag
def status_badge(status, extra=""):
    """The status as a badge: icon and words, never colour alone."""
    if status in (None, ""):
        return ""
    return presentation.status_badge(status, extra)


@register.simple_tag
def dashboard_rows(lines):
    """The dashboard's rows of one indicator's targets (TargetLines)."""
    return presentation.dashboard_rows(lines)


@register.simple_tag
def body_rows(pairs):
    """A body card's target rows: (TargetLine, the body's assignment) pairs."""
    return presentation.body_rows(pairs)


@register.simple_tag
def task_items(pairs):
    """A body card's task lines: (TaskStanding, the body's role) pairs."""
    return presentation.task_items(pairs)


@register.simple_tag
def report_row(row):
    """A target row of the comparison report's table."""
    return presentation.report_row(row)


@register.simple_tag
def status_stack(counts):
    """One bar split by status, in the order of the summary; the legend beside it
    carries the words and counts."""
    if not counts.total:
        return ""
    segments = format_html_join(
        "",
        '<rect x="{}" width="{}" height="10" class="fill-{}"><title>{}</title></rect>',
        presentation.stack_segments(counts),
    )
    return format_html(
        '<svg class="sbar" viewBox="0 0 100 10" preserveAspectRatio="none" '
        'role="img" aria-label="{}">{}</svg>',
        counts.summary,
        segments,
    )


@register.filter
def status_colour(status):
    """The Bootstrap colour of a verdict status, a task status or a body's report
    state: text-bg-{{ p.status|status_colour }}."""
    return presentation.style_of(status).colour


@register.filter
def status_icon(status):
    """The icon that goes with the colour, so colour is never alone."""
    return presentation.style_of(status).icon


@register.filter
def quarter(period):
    """'quý III/2025' for inside a sentence."""
    from targets.progress import quarter_label

    return quarter_label(period.key)


@register.filter
def signed(value):
    """A gap with its sign: +0,51, -1,5, 0."""
    return presentation.signed(value)


@register.filter
def unit_after(unit):
    """The unit as it follows a number: '%' with no space before it, ' tấn'."""
    return unit_suffix(unit)
