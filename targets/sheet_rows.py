"""The rows of an office sheet (targets.sheets), once its columns are known
(targets.sheet_layout): each row matched to a target of the resolution (by code,
then by name; every doubt listed for the administrator to choose), its unit
converted, its cumulative columns turned into the quarter's own amount, and its
values appended to the dataset in the portal's figure columns, each remembering the
cell it came from."""

from __future__ import annotations

from decimal import Decimal

import tablib

from .import_cells import key_text, shown
from .models import (
    QUARTER_NAMES,
    Combine,
    Figure,
    FigureKind,
    Indicator,
    ReportingPeriod,
    Resolution,
    Target,
    WorkflowState,
)
from .numbers import format_decimal
from .sheet_layout import (
    COLUMNS,
    FOOTER_MARKS,
    KIND_LABELS,
    TOTAL_MARKS,
    Proposal,
    RowMatch,
    cell_at,
    clean_text,
    fold,
    is_date_line,
    is_empty_cell,
    merged_cells,
    read_number,
    unit_factor,
)
from .spreadsheet_limits import is_blank
from .spreadsheets import Grid


def resolution_targets(resolution: Resolution) -> list[Target]:
    """The resolution's targets, each holding its indicator, which holds the
    resolution (and its commune): one object per indicator rather than a copy per
    target, as select_related would build (10,000 targets: 40,000 objects)."""
    indicators = {
        i.pk: i for i in Indicator.objects.filter(resolution=resolution).order_by()
    }
    for indicator in indicators.values():
        indicator.resolution = resolution
    targets = list(
        Target.objects.filter(indicator__resolution=resolution).order_by(
            "indicator__number", "order", "code"
        )
    )
    for target in targets:
        target.indicator = indicators[target.indicator_id]
    return targets


def read_rows(grid: Grid, header: int, proposal: Proposal, choices: dict) -> None:
    resolution = proposal.resolution
    columns = proposal.columns
    role = {c.role: c for c in reversed(columns)}  # the first of each role
    values = [c for c in columns if c.role == "value" and c.quarter]
    estimate = role.get("year_estimate")
    if estimate is not None and estimate.chosen and estimate.year:
        values.append(estimate)
    targets = resolution_targets(resolution)
    proposal.target_choices = targets
    by_code = {key_text(t.code): t for t in targets}
    by_name: dict[str, list[Target]] = {}
    for target in targets:
        by_name.setdefault(fold(target.name), []).append(target)
    periods = {
        (p.year, p.quarter): p
        for p in ReportingPeriod.objects.filter(commune=resolution.commune_id)
    }
    years = {c.year for c in values if c.year}
    stored = {
        (f.target_id, f.period.year, f.period.quarter): f
        for f in Figure.objects.filter(
            target__indicator__resolution=resolution, period__year__in=years
        )
        .select_related("period")
        .order_by()  # a dict: the model's ordering would join up to the resolution
    }
    covered = merged_cells(grid)
    formulas = grid.formulas
    dataset = tablib.Dataset(headers=COLUMNS)
    seen_formulas: list[str] = []
    ended = False
    blank_rows = []

    for index in range(header + 1, len(grid.rows)):
        number = index + 1
        cells = grid.rows[index]
        if is_blank(cells):
            blank_rows.append(number)
            continue
        first_text = fold(" ".join(clean_text(v) for v in cells if v is not None))
        if ended or first_text.startswith(FOOTER_MARKS) or is_date_line(first_text):
            ended = True
            proposal.skipped.append(f"Dòng {number}: cuối biểu (chữ ký, nơi nhận)")
            continue

        def get(column_role, cells=cells):
            column = role.get(column_role)
            return None if column is None else cells[column.index]

        name = clean_text(get("name"))
        code = clean_text(get("code"))
        tt = clean_text(get("tt"))
        unit = clean_text(get("unit"))
        plan = get("plan")
        filled = [c for c in values if not is_empty_cell(cells[c.index])]
        folded_name = fold(name)
        if folded_name.startswith(TOTAL_MARKS) or folded_name in ("cong", "tong"):
            proposal.skipped.append(f"Dòng {number}: dòng tổng")
            continue
        if not filled and not unit and is_empty_cell(plan):
            proposal.skipped.append(
                f"Dòng {number}: tiêu đề nhóm “{(name or tt)[:60]}”"
                if name or tt
                else f"Dòng {number}: không có số liệu"
            )
            continue
        match = RowMatch(number, name, code, unit, plan)
        proposal.matches.append(match)
        _match(match, folded_name, choices, by_code, by_name, targets, tt)
        if match.target is None:
            where = cell_at(role["name"].index if "name" in role else 0, number)
            if match.needs_choice and match.candidates:
                proposal.problems.append(
                    f"Ô {where} (“{name[:60]}”): {match.how}. Hãy chọn chỉ tiêu của "
                    "dòng này trong bảng “Các dòng” rồi xem trước lại."
                )
            elif match.how != "bỏ qua (đã chọn)":
                match.needs_choice = True
                proposal.problems.append(
                    f"Ô {where} (“{name[:60] or code}”): không khớp chỉ tiêu nào của "
                    f"Nghị quyết {resolution.number} theo mã hoặc tên. Hãy chọn chỉ "
                    "tiêu của dòng này (hoặc “Bỏ qua dòng này”) rồi xem trước lại."
                )
            continue
        target = match.target
        # Merged cells inside a figure row would read as empty: never drop them.
        used = [role[r] for r in ("name", "code", "unit", "plan") if r in role]
        for column in used + values:
            ref = covered.get((number, column.index + 1))
            if ref:
                proposal.problems.append(
                    f"Ô {cell_at(column.index, number)} nằm trong vùng gộp {ref}: "
                    "hệ thống không đoán giá trị của ô gộp. Hãy bỏ gộp ô (Unmerge) "
                    "và ghi đủ giá trị vào từng ô."
                )
        if not filled:
            proposal.skipped.append(f"Dòng {number}: {target.code} chưa có số liệu")
            continue
        # The unit.
        factor = Decimal(1)
        if unit:
            found = unit_factor(unit, target.unit)
            where = cell_at(role["unit"].index, number)
            if found is None:
                proposal.problems.append(
                    f"Ô {where} (“{unit}”): đơn vị tính khác với chỉ tiêu "
                    f"{target.code} (“{target.unit}”) và không quy đổi được. Hãy đổi "
                    f"số liệu sang “{target.unit}” rồi nhập lại."
                )
                continue
            factor = found
            if factor != 1:
                proposal.notes.append(
                    f"Ô {where}: đơn vị “{unit}” được quy đổi sang “{target.unit}” "
                    f"(nhân {format_decimal(factor.normalize())})."
                )
        # The plan, for comparison only.
        if not is_empty_cell(plan):
            where = cell_at(role["plan"].index, number)
            try:
                file_plan = read_number(plan) * factor
            except ValueError as error:
                proposal.problems.append(f"Ô {where} ({shown(plan)}): {error}")
            else:
                if file_plan != target.target_value:
                    proposal.warnings.append(
                        f"Ô {where}: kế hoạch trong tệp "
                        f"{format_decimal(file_plan.normalize())} {target.unit} khác "
                        f"kế hoạch đã lưu của chỉ tiêu {target.code} "
                        f"({format_decimal(target.target_value.normalize())} "
                        f"{target.unit}). Số liệu vẫn được nhập; hãy kiểm tra lại."
                    )
        note_column = role.get("note")
        note = clean_text(cells[note_column.index]) if note_column else None
        row_kind = None
        kind_column = role.get("kind")
        if kind_column is not None and not is_empty_cell(cells[kind_column.index]):
            typed = fold(cells[kind_column.index])
            row_kind = next(
                (k for k, label in FigureKind.choices if fold(label) == typed), None
            )
            if row_kind is None:
                proposal.problems.append(
                    f"Ô {cell_at(kind_column.index, number)} "
                    f"({shown(cells[kind_column.index])}): loại số liệu phải là "
                    "“Thực hiện” hoặc “Ước thực hiện”."
                )
                continue
        own = {}  # this row's own quarter amounts in the file, for cumulative columns
        parsed = []
        for column in values:
            raw = cells[column.index]
            if is_empty_cell(raw):
                continue
            where = cell_at(column.index, number)
            if where in formulas:
                seen_formulas.append(where)
            try:
                value = read_number(raw) * factor
            except ValueError as error:
                proposal.problems.append(f"Ô {where} ({shown(raw)}): {error}")
                continue
            if factor != 1:
                proposal.notes.append(
                    f"Ô {where}: {shown(raw)} {unit} = "
                    f"{format_decimal(value.normalize())} {target.unit}."
                )
            parsed.append((column, value, where, raw))
            if not column.cumulative and column.role == "value":
                own[(column.year, column.quarter)] = value
        last = max(
            (c for c, *_ in parsed),
            key=lambda c: (c.year, c.quarter or 4),
            default=None,
        )
        for column, value, where, _raw in parsed:
            quarter = column.quarter if column.role == "value" else 4
            kind = column.kind or row_kind
            if column.role == "year_estimate":
                kind = FigureKind.ESTIMATE
            if column.cumulative or column.role == "year_estimate":
                value = _own_amount(
                    proposal, target, column, quarter, value, where, own, stored
                )
                if value is None:
                    continue
            period = periods.get((column.year, quarter))
            if period is None:
                proposal.problems.append(
                    f"Ô {where}: chưa có kỳ báo cáo quý {QUARTER_NAMES[quarter]}/"
                    f"{column.year}. Hãy tạo kỳ báo cáo trong trang quản trị trước."
                )
                continue
            figure = stored.get((target.pk, column.year, quarter))
            if kind is None:
                kind = figure.kind if figure else FigureKind.ACTUAL
            row_note = note if column is last else None
            if row_note is None and figure is not None:
                row_note = figure.note
            match.figures.append((column.year, quarter, value))
            dataset.append(
                [
                    resolution.number,
                    target.code,
                    column.year,
                    quarter,
                    value,
                    KIND_LABELS[kind],
                    row_note or "",
                ]
            )
            proposal.origin[len(dataset)] = (number, where)
    if blank_rows:
        proposal.skipped.append(
            "Dòng trống: " + ", ".join(str(n) for n in blank_rows[:30])
        )
    for ref in seen_formulas:
        proposal.notes.append(
            f"Ô {ref} là công thức: lấy giá trị tính sẵn lưu trong tệp."
        )
    proposal.dataset = dataset


def _match(match, folded_name, choices, by_code, by_name, targets, tt) -> None:
    """Fill match.target and match.how, or the candidates and needs_choice."""
    picked = choices.get(f"row:{match.row}")
    if picked == "skip":
        match.how = "bỏ qua (đã chọn)"
        return
    if picked:
        target = next((t for t in targets if str(t.pk) == str(picked)), None)
        if target is not None:
            match.target, match.how = target, "do quản trị viên chọn"
            return
    named = by_name.get(folded_name, []) if match.name else []
    if match.code:
        target = by_code.get(key_text(match.code))
        if target is None:
            match.needs_choice = True
            match.candidates = named
            match.how = f"mã “{match.code}” không có trong nghị quyết"
            return
        if match.name and named and target not in named:
            match.needs_choice = True
            match.candidates = [target, *named]
            others = ", ".join(t.code for t in named)
            match.how = (
                f"mã “{match.code}” là chỉ tiêu “{target.name}”, nhưng tên trong tệp "
                f"là của chỉ tiêu {others}"
            )
            return
        match.target = target
        match.how = "theo mã"
        return
    if len(named) == 1:
        match.target = named[0]
        tt_target = by_code.get(key_text(tt)) if tt else None
        if tt_target is not None and tt_target == named[0]:
            match.how = "theo tên (TT trùng mã)"
        elif tt_target is not None:
            match.how = f"theo tên (TT “{tt}” là mã của {tt_target.code}: bỏ qua TT)"
        else:
            match.how = "theo tên"
        return
    if len(named) > 1:
        tt_target = by_code.get(key_text(tt)) if tt else None
        if tt_target in named:
            match.target, match.how = tt_target, "theo tên và TT"
            return
        match.needs_choice = True
        match.candidates = named
        match.how = "tên khớp nhiều chỉ tiêu: " + ", ".join(t.code for t in named)
        return
    folded = fold(match.name)
    near = [
        t
        for t in targets
        if folded and (folded in fold(t.name) or fold(t.name) in folded)
    ]
    tt_target = by_code.get(key_text(tt)) if tt else None
    if tt_target is not None and tt_target not in near:
        near.append(tt_target)
    match.needs_choice = True
    match.candidates = near
    if near:
        match.how = "tên gần giống: " + ", ".join(t.code for t in near)


def _own_amount(proposal, target, column, quarter, total, where, own, stored):
    """A cumulative column's value as the quarter's own amount (sum targets): the
    total minus the earlier quarters of the target's window in that year."""
    months = quarter * 3
    label = column.header or column.letter
    if target.combine != Combine.SUM:
        proposal.notes.append(
            f"Ô {where}: cột lũy kế “{label}”, chỉ tiêu {target.code} là số thời "
            f"điểm: lấy nguyên {format_decimal(total.normalize())} cho quý "
            f"{QUARTER_NAMES[quarter]}/{column.year}."
        )
        return total
    start, _end = target.window
    earlier = [q for q in range(1, quarter) if (column.year, q) >= start]
    parts, missing = [], []
    for q in earlier:
        if (column.year, q) in own:
            parts.append(own[(column.year, q)])
            continue
        figure = stored.get((target.pk, column.year, q))
        if figure is not None and figure.state == WorkflowState.APPROVED:
            parts.append(figure.value)
        else:
            missing.append(QUARTER_NAMES[q])
    if missing:
        proposal.problems.append(
            f"Ô {where}: cột “{label}” là số lũy kế {months} tháng; để tính số của "
            f"riêng quý {QUARTER_NAMES[quarter]} cần số đã phê duyệt của quý "
            f"{', '.join(missing)}/{column.year} (chỉ tiêu {target.code}) nhưng chưa "
            "có. Hãy nhập số của từng quý, hoặc thêm cột các quý đó vào tệp."
        )
        return None
    value = total - sum(parts, Decimal(0))
    proposal.notes.append(
        f"Ô {where}: lũy kế {months} tháng {format_decimal(total.normalize())} − "
        f"các quý trước {format_decimal(sum(parts, Decimal(0)).normalize())} = "
        f"{format_decimal(value.normalize())} (số của riêng quý "
        f"{QUARTER_NAMES[quarter]}/{column.year}, đã quy đổi)."
    )
    return value
