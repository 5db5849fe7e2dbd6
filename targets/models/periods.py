"""Reporting periods (the quarters) and the helpers every page, sheet and query uses
to name and reach them."""

import datetime

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from ..fields import user_link
from .choices import PeriodState
from .resolution import Commune


def decree_09_window(year: int, quarter: int) -> tuple[datetime.date, datetime.date]:
    """The data window of a quarter under Decree 09/2019/NĐ-CP: from the 15th of the
    month before the quarter to the 14th of its last month."""
    first_month = 3 * quarter - 2
    if first_month == 1:
        start = datetime.date(year - 1, 12, 15)
    else:
        start = datetime.date(year, first_month - 1, 15)
    return start, datetime.date(year, 3 * quarter, 14)


# Roman numerals as the resolution writes them: quarters (quý I–IV) and the areas of
# Article 1 (I–VI). The one table every page, sheet and report reads.
ROMAN_NUMERALS = ("I", "II", "III", "IV", "V", "VI")
QUARTER_NAMES = {n: ROMAN_NUMERALS[n - 1] for n in range(1, 5)}


def roman_number(text: str) -> int | None:
    """The number a Roman numeral I–VI stands for, any case; None otherwise."""
    text = text.strip().upper()
    return ROMAN_NUMERALS.index(text) + 1 if text in ROMAN_NUMERALS else None


def periods_up_to(
    year: int, quarter: int, *, prefix: str = "", before: bool = False
) -> Q:
    """The reporting periods up to (year, quarter), or up to the quarter before it
    with `before`; `prefix` reaches them through a relation ("period__")."""
    last = {f"{prefix}quarter__lt" if before else f"{prefix}quarter__lte": quarter}
    return Q(**{f"{prefix}year__lt": year}) | Q(**{f"{prefix}year": year}, **last)


class ReportingPeriod(models.Model):
    commune = models.ForeignKey(
        Commune, models.PROTECT, related_name="periods", verbose_name="xã"
    )
    year = models.PositiveSmallIntegerField("năm")
    quarter = models.PositiveSmallIntegerField("quý")
    data_from = models.DateField("số liệu từ ngày")
    data_to = models.DateField("số liệu đến ngày")
    deadline = models.DateField("hạn nhập số liệu")
    state = models.CharField(
        "trạng thái",
        max_length=10,
        choices=PeriodState.choices,
        default=PeriodState.OPEN,
    )
    # Công bố: once published (and while closed) the quarter's approved figures and
    # their judgement are public (reports/public.py). Set by services.period_publish.
    published_at = models.DateTimeField("công bố lúc", null=True, blank=True)
    published_by = user_link("người công bố")
    history = HistoricalRecords(verbose_name="lịch sử kỳ báo cáo")

    class Meta:
        verbose_name = "kỳ báo cáo"
        verbose_name_plural = "kỳ báo cáo"
        ordering = ["commune", "year", "quarter"]
        constraints = [
            models.UniqueConstraint(
                fields=["commune", "year", "quarter"],
                name="period_unique_quarter",
                violation_error_message="Xã đã có kỳ báo cáo cho quý này.",
            ),
            models.CheckConstraint(
                condition=Q(quarter__gte=1, quarter__lte=4),
                name="period_quarter_range",
                violation_error_message="Quý phải từ 1 đến 4.",
            ),
            models.CheckConstraint(
                condition=Q(data_from__lt=F("data_to")),
                name="period_data_window_ordered",
            ),
            models.CheckConstraint(
                condition=Q(deadline__gte=F("data_from")),
                name="period_deadline_after_start",
                violation_error_message=(
                    "Hạn nhập số liệu không được trước ngày bắt đầu kỳ."
                ),
            ),
            models.CheckConstraint(
                condition=Q(state__in=PeriodState.values), name="period_state_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Quý {QUARTER_NAMES.get(self.quarter, self.quarter)}/{self.year}"

    def clean(self) -> None:
        # The quarter's range and the deadline are period_quarter_range's and
        # period_deadline_after_start's; this constraint has no Vietnamese message.
        if self.data_from and self.data_to and self.data_from >= self.data_to:
            raise ValidationError(
                {"data_to": "Ngày kết thúc số liệu phải sau ngày bắt đầu."}
            )

    @property
    def key(self) -> tuple[int, int]:
        return (self.year, self.quarter)

    def is_open_for_entry(self, today: datetime.date) -> bool:
        """Clerks may write while the period is open and its deadline has not passed."""
        return self.state == PeriodState.OPEN and today <= self.deadline

    @property
    def label(self) -> str:
        return str(self)

    @property
    def is_public(self) -> bool:
        """Published and still closed: a reopened quarter is not public meanwhile."""
        return self.published_at is not None and self.state == PeriodState.CLOSED
