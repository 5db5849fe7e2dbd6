"""Vietnamese display of figures, 3.865,28 and 1.250.000, in any user language."""

from django import template

from targets.numbers import format_decimal

register = template.Library()


@register.filter
def vn_number(value, decimal_places=None):
    """{{ value|vn_number }} drops insignificant zeros; {{ value|vn_number:2 }} pads."""
    if value is None or value == "":
        return ""
    places = None if decimal_places in (None, "") else int(decimal_places)
    return format_decimal(value, places)


@register.filter
def person(user):
    """A user's full name, else login name; "hệ thống" for changes made by no one."""
    if user is None:
        return "hệ thống"
    return user.get_full_name() or user.username
