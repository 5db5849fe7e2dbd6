"""Posted ids that are no key ("abc", "1 OR 1=1", 20 digits) as form errors, never
a 500: the form fields and the autocomplete widget every admin of the site uses
through `SafeIdsMixin`."""

from django import forms
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError


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
