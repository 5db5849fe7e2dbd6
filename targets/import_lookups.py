"""The objects an imported file's keys refer to (resolutions, targets, indicators,
tasks, communes, bodies, periods, assignments), each table read at most once per
import, so that no row costs a query; and the Vietnamese message naming what a key
did not find."""

from collections import defaultdict
from functools import cached_property

from .import_cells import EMPTY_KEY, clean_key, key_text, read_integer
from .models import (
    QUARTER_NAMES,
    Assignment,
    Commune,
    Indicator,
    ReportingPeriod,
    Resolution,
    ResponsibleBody,
    Target,
    Task,
    TaskKind,
)


def typed_key(value: object) -> str:
    """The key typed in a cell, compared leniently (`key_text`); an empty cell is
    refused: the row could not be identified."""
    text = key_text(value)
    if not text:
        raise ValueError(EMPTY_KEY)
    return text


def found(item, missing):
    """`item`, or a ValueError with the message `missing()` builds when it is None
    (built only then: some list what the file could have named)."""
    if item is None:
        raise ValueError(missing())
    return item


class Lookups:
    """The objects a file's keys refer to, each table read at most once per import
    (they are small: a commune has a few resolutions, ~30 targets, ~20 bodies), so no
    row costs a query. With `lock_periods` (an import that writes, inside its
    transaction) the periods are read FOR UPDATE: no period closes under the import.
    """

    def __init__(self, *, lock_periods: bool = False, targets=None) -> None:
        self.lock_periods = lock_periods
        self.found: dict = {}
        if targets is not None:
            # Already read by the caller (targets.sheets), with their indicator,
            # resolution and commune: not read a second time.
            self.__dict__["targets"] = {
                (t.indicator.resolution_id, key_text(t.code)): t for t in targets
            }

    @cached_property
    def resolutions(self) -> dict[str, list[Resolution]]:
        by_number = defaultdict(list)
        for resolution in Resolution.objects.select_related("commune").order_by("pk"):
            by_number[key_text(resolution.number)].append(resolution)
        return by_number

    def resolution(self, value: object) -> Resolution:
        memo = (type(value), value)
        if memo in self.found:  # a file names the same resolution on every row
            return self.found[memo]
        matching = self.resolutions.get(typed_key(value), [])
        if len(matching) > 1:
            raise ValueError(
                f"Có {len(matching)} nghị quyết số “{clean_key(value)}” ở các xã khác "
                "nhau, không xác định được nghị quyết nào."
            )
        if not matching:
            known = ", ".join(
                sorted({r.number for rs in self.resolutions.values() for r in rs})
            )
            raise ValueError(
                f"Không có nghị quyết số “{clean_key(value)[:40]}”. Hãy ghi đúng số "
                f"nghị quyết như trên văn bản ({known or 'chưa có nghị quyết nào'})."
            )
        self.found[memo] = matching[0]
        return matching[0]

    @cached_property
    def targets(self) -> dict[tuple[int, str], Target]:
        return {
            (t.indicator.resolution_id, key_text(t.code)): t
            for t in Target.objects.select_related("indicator__resolution__commune")
        }

    def target(self, resolution: Resolution, value: object) -> Target:
        def missing():
            codes = [t.code for (r, _), t in self.targets.items() if r == resolution.pk]
            listed = ", ".join(codes[:12]) + ("…" if len(codes) > 12 else "")
            return (
                f"Nghị quyết {resolution.number} không có chỉ tiêu mã "
                f"“{clean_key(value)[:20]}”. Các mã có: {listed or 'chưa có'}."
            )

        return found(self.targets.get((resolution.pk, typed_key(value))), missing)

    @cached_property
    def indicators(self) -> dict[tuple[int, int], Indicator]:
        return {(i.resolution_id, i.number): i for i in Indicator.objects.all()}

    def indicator(self, resolution: Resolution, value: object) -> Indicator:
        number = read_integer(value)
        if number is None:
            raise ValueError(EMPTY_KEY)
        return found(
            self.indicators.get((resolution.pk, number)),
            lambda: (
                f"Nghị quyết {resolution.number} chưa có chỉ tiêu ({number}). "
                "Hãy nhập danh sách chỉ tiêu trước."
            ),
        )

    @cached_property
    def tasks(self) -> dict[tuple[int, str, int], Task]:
        return {(t.resolution_id, t.kind, t.number): t for t in Task.objects.all()}

    def task(self, resolution: Resolution, kind: str, number: int) -> Task:
        return found(
            self.tasks.get((resolution.pk, kind, number)),
            lambda: (
                f"Nghị quyết {resolution.number} không có "
                f"{TaskKind(kind).label.lower()} thứ {number}."
            ),
        )

    @cached_property
    def communes(self) -> dict[tuple[str, str], Commune]:
        return {
            (key_text(c.province), key_text(c.name)): c for c in Commune.objects.all()
        }

    def commune(self, province: object, name: object) -> Commune:
        return found(
            self.communes.get((key_text(province), key_text(name))),
            lambda: (
                f"Không có xã “{clean_key(name)[:40]}” thuộc tỉnh "
                f"“{clean_key(province)[:40]}”."
            ),
        )

    @cached_property
    def bodies(self) -> dict[tuple[int, str], ResponsibleBody]:
        return {
            (b.commune_id, key_text(b.name)): b
            for b in ResponsibleBody.objects.select_related("commune")
        }

    def body(self, commune: Commune, value: object) -> ResponsibleBody:
        return found(
            self.bodies.get((commune.pk, typed_key(value))),
            lambda: (
                f"Xã {commune.name} chưa có cơ quan, đơn vị "
                f"“{clean_key(value)[:60]}”. Hãy nhập danh sách cơ quan, đơn vị trước."
            ),
        )

    @cached_property
    def periods(self) -> dict[tuple[int, int, int], ReportingPeriod]:
        periods = ReportingPeriod.objects.select_related("commune")
        if self.lock_periods:
            periods = periods.select_for_update(of=("self",))
        return {(p.commune_id, p.year, p.quarter): p for p in periods}

    def period(self, commune: Commune, year: int, quarter: int) -> ReportingPeriod:
        name = QUARTER_NAMES.get(quarter, str(quarter))
        return found(
            self.periods.get((commune.pk, year, quarter)),
            lambda: (
                f"Xã {commune.name} chưa có kỳ báo cáo Quý {name}/{year}. Hãy "
                "tạo kỳ báo cáo trong trang quản trị trước khi nhập số liệu của kỳ này."
            ),
        )

    @cached_property
    def assignments(self) -> dict[tuple, Assignment]:
        return {
            (a.body_id, a.target_id, a.task_id): a for a in Assignment.objects.all()
        }
