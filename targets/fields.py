"""Field types the models share: text as every path stores it (NFC, stripped,
without control characters), and the link to the user who did something to a row.

The rule sits on the model fields, so `full_clean()` applies it whoever writes: the
entry page, the review page, the admin, the import and any later API. PostgreSQL
refuses NUL in text (a 500 if it got that far) and SQLite would store it; a clerk's
phone may send NFD ("Tấn" as T + a + combining marks), which would then never equal
the NFC text typed elsewhere.
"""

import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.db import models

# Bidirectional overrides and isolates reorder what a reader sees ("Trojan source").
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_BREAKS = "\n\t"


def clean_text(value: object, *, multiline: bool) -> str:
    """`value` as stored text: NFC, stripped, Windows and old Mac line ends made
    "\\n". Raises ValidationError, in Vietnamese, for NUL and other control
    characters (a tab or a line break too where the text is a single line)."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    allowed = _LINE_BREAKS if multiline else ""
    for position, char in enumerate(text, start=1):
        if char in allowed:
            continue
        if unicodedata.category(char) == "Cc" or char in _BIDI:
            if char == "\x00":
                what = "ký tự rỗng (NUL)"
            elif char in "\n\t":
                what = "dấu xuống dòng hoặc dấu tab"
            else:
                what = f"ký tự điều khiển U+{ord(char):04X}"
            raise ValidationError(
                f"Nội dung có {what} ở vị trí {position}, thường do sao chép từ "
                "phần mềm khác. Hãy xóa ký tự đó (gõ lại đoạn văn bản) rồi lưu lại.",
                code="control_character",
            )
    return text


class _CleanText:
    """Cleans in `clean()` (full_clean: forms, admin, import) and again in
    `pre_save()` (any save, bulk_create included), never in lookups: a search for
    "  x" still means what it says."""

    multiline = True

    def clean(self, value, model_instance):
        return super().clean(
            clean_text(value, multiline=self.multiline), model_instance
        )

    def formfield(self, **kwargs):
        # Forms refuse NUL on their own, in English ("Null characters are not
        # allowed."): leave it to clean_text, which says it in Vietnamese.
        field = super().formfield(**kwargs)
        field.validators = [
            v
            for v in field.validators
            if not isinstance(v, ProhibitNullCharactersValidator)
        ]
        return field

    def pre_save(self, model_instance, add):
        value = clean_text(
            getattr(model_instance, self.attname), multiline=self.multiline
        )
        setattr(model_instance, self.attname, value)
        return value


class CleanTextField(_CleanText, models.TextField):
    """A TextField cleaned by `clean_text`, line breaks allowed."""


class CleanCharField(_CleanText, models.CharField):
    """A CharField cleaned by `clean_text`, one line."""

    multiline = False


def user_link(verbose_name: str, *, blank: bool = True) -> models.ForeignKey:
    """Who did something to a row (updated, sent, approved, published, assessed):
    kept as empty when the account is deleted, with no reverse accessor on users."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=blank,
        related_name="+",
        verbose_name=verbose_name,
    )
