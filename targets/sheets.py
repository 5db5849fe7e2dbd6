"""The commune's own spreadsheet: the office layout read into figures.

Offices keep their figures in the council report's layout, not in the portal's
template: a title (often merged) naming the period, "BIỂU TỔNG HỢP KẾT QUẢ THỰC HIỆN
CHỈ TIÊU QUÝ III/2025", blank rows, a header row such as TT | Chỉ tiêu | ĐVT | Kế
hoạch 2025 | Thực hiện quý III | Ghi chú, area and indicator headings inside the
table, totals, and a footer (Người lập biểu, Nơi nhận, signatures). `propose` turns
the raw grid of such a sheet (`spreadsheets.read_grid`, with every bound of the
ordinary readers) into (`propose`, with targets.sheet_layout for the columns and
targets.sheet_rows for the rows):

- a proposal the preview shows: which column became which field, which period each
  value column means, how every row matched a target, the file's plan and unit
  beside the stored ones, rows skipped (title, blank, heading, total, footer),
  formula cells whose cached value was taken, conversions (unit, cumulative);
- every problem of the file at once, each naming its cell;
- the choices still needed (a row's target, a column's meaning, the resolution),
  which the administrator makes in the preview form and previews again;
- rows in the portal's figure columns for `FigureBatchResource`, so validation,
  locks, bounds and history stay the ones that exist.

Nothing is guessed silently: a row matched by a near name, a name that belongs to
another code, a TT that disagrees with the name, an unknown unit, a cumulative column
without the earlier quarters: each is listed, and only an exact, unambiguous match
imports without a question.

Matching: by code (a "Mã chỉ tiêu" column, or a TT/STT cell that is a code and
agrees with the name), then by name, compared without case, spacing, Unicode form
or diacritics. Units: compared the same way; đồng / nghìn đồng / triệu đồng / tỷ đồng,
m² / ha and kg / tạ / tấn are converted and shown as converted, any other difference
is refused. Cumulative columns ("6 tháng", "9 tháng", the year) of a sum target
become the quarter's own amount: the total minus the earlier quarters of the
target's window (this file's own quarter columns for that row, else the approved
figures); a latest target takes the value as the position at the end of the period.
"""

from __future__ import annotations

from pathlib import Path

import tablib
from django.core.exceptions import NON_FIELD_ERRORS
from import_export.results import Error, RowResult

from .figure_import import FigureBatchResource
from .import_base import cycle_collection_paused
from .import_cells import ImportRejected
from .models import Resolution, WorkflowState
from .services import ImportSubmitRefused, import_submit, import_submit_refusals
from .sheet_layout import (
    HEADER_SEARCH_ROWS,
    PORTAL_KEYS,
    ROLE_LABELS,
    VALUE,
    Column,
    Proposal,
    cell_at,
    classify,
    clean_text,
    find_header,
    fold,
    parse_choice,
    read_period,
)
from .sheet_rows import read_rows
from .spreadsheet_limits import SpreadsheetRejected, check_size, is_blank
from .spreadsheets import Grid, SafeCSV, SafeXLSX, format_for_name, read_grid


def propose(grid: Grid, choices: dict | None = None) -> Proposal:
    """Read the grid; see the module docstring. Reads what it needs up front: the
    resolutions, then one query each for the targets, periods and figures."""
    choices = choices or {}
    proposal = Proposal(
        submit=bool(choices.get("submit")), confirm_flags=bool(choices.get("confirm"))
    )
    header, columns = find_header(grid)
    if header is None:
        proposal.problems.append(
            "Không tìm thấy dòng tiêu đề cột trong "
            f"{HEADER_SEARCH_ROWS} dòng đầu của trang tính. Dòng tiêu đề cần có ít "
            "nhất cột tên chỉ tiêu (“Chỉ tiêu”, “Tên chỉ tiêu”, “Nội dung”) hoặc "
            "“Mã chỉ tiêu”, và một cột số liệu (“Thực hiện quý III”, “Quý I”, "
            "“9 tháng”…). Hãy tải tệp mẫu để xem cách ghi."
        )
        return proposal
    proposal.header_row = header + 1
    headers_folded = {fold(v) for v in grid.rows[header]}
    proposal.portal_layout = PORTAL_KEYS <= headers_folded
    title_rows = grid.rows[:header]
    proposal.title = " ".join(
        clean_text(v) for row in title_rows for v in row if not is_blank([v])
    )
    for number, row in enumerate(title_rows, start=1):
        what = "trống" if is_blank(row) else "tiêu đề"
        proposal.skipped.append(f"Dòng {number}: {what}")

    if proposal.portal_layout:
        return _portal(grid, header, proposal)

    title = fold(proposal.title)
    title_year, title_quarter, title_cumulative = read_period(title)
    plan_year = next((c.year for c in columns if c.role == "plan" and c.year), None)

    resolutions = list(
        Resolution.objects.select_related("commune").order_by("-plan_year", "number")
    )
    proposal.resolutions = resolutions
    chosen = choices.get("resolution")
    resolution = next((r for r in resolutions if str(r.pk) == str(chosen)), None)
    if resolution is None:
        named = [r for r in resolutions if fold(r.number) in title]
        if len(named) == 1:
            resolution = named[0]
        elif len(resolutions) == 1:
            resolution = resolutions[0]
        else:
            year = title_year or plan_year
            fitting = [r for r in resolutions if r.plan_year == year]
            resolution = fitting[0] if len(fitting) == 1 else None
    proposal.resolution = resolution
    default_year = title_year or plan_year or (resolution and resolution.plan_year)

    for column in columns:
        choice = choices.get(f"col:{column.letter}")
        if choice:
            parse_choice(column, choice)
        if column.role == "value" and not column.chosen:
            if column.quarter is None and title_quarter is not None:
                column.quarter, column.cumulative = title_quarter, title_cumulative
            column.year = column.year or default_year
            if column.quarter is None or column.year is None:
                proposal.column_choices.append(column)
                proposal.problems.append(
                    f"Ô {cell_at(column.index, header + 1)} (“{column.header}”): không "
                    "rõ cột số liệu này thuộc kỳ nào (tiêu đề biểu không ghi quý). "
                    "Hãy chọn kỳ của cột trong bảng “Các cột” bên dưới rồi xem "
                    "trước lại."
                )
        if column.role == "year_estimate" and column.year is None:
            column.year = default_year
    if "chenh lech so voi kh" in headers_folded or any(
        h.startswith("chenh lech so voi kh") for h in headers_folded
    ):
        # The portal's own report: its year column is computed, never imported.
        for column in columns:
            if column.role == "value" and column.cumulative and not column.chosen:
                column.role = "computed"
    proposal.columns = columns
    by_role: dict[str, list[Column]] = {}
    for column in columns:
        by_role.setdefault(column.role, []).append(column)
    for role in ("tt", "code", "name", "unit", "plan", "note", "kind"):
        if len(by_role.get(role, [])) > 1:
            extra = by_role[role][1:]
            for column in extra:
                proposal.column_choices.append(column)
                proposal.problems.append(
                    f"Ô {cell_at(column.index, header + 1)} (“{column.header}”): đã có "
                    f"cột {by_role[role][0].letter} là “{ROLE_LABELS[role]}”. Hãy "
                    "chọn nghĩa của cột này rồi xem trước lại."
                )
    if "name" not in by_role and "code" not in by_role:
        proposal.problems.append(
            "Không có cột tên chỉ tiêu hoặc mã chỉ tiêu: hãy chọn nghĩa các cột."
        )
    if not proposal.period_columns and not any(
        c.role == "year_estimate" and c.chosen for c in columns
    ):
        proposal.problems.append(
            "Không có cột số liệu nào (như “Thực hiện quý III”, “Quý I”, “9 tháng”): "
            "hãy chọn nghĩa của cột chứa số liệu."
        )
    if resolution is None:
        proposal.problems.append(
            "Không rõ tệp thuộc nghị quyết nào (tiêu đề không ghi số nghị quyết). "
            "Hãy chọn nghị quyết rồi xem trước lại."
        )
        return proposal
    read_rows(grid, header, proposal, choices)
    return proposal


def _portal(grid: Grid, header: int, proposal: Proposal) -> Proposal:
    """The portal's own template: the rows as they are."""
    headers = [clean_text(v) for v in grid.rows[header]]
    for merged in grid.merges:
        proposal.problems.append(
            f"Ô {merged} đang gộp (merge). Hệ thống không đoán giá trị của ô gộp. "
            "Hãy bỏ gộp ô (Unmerge) và ghi đủ giá trị vào từng ô, rồi nhập lại."
        )
    for ref in sorted(grid.formulas):
        proposal.notes.append(f"Ô {ref} là công thức: lấy giá trị tính sẵn trong tệp.")
    keep = [i for i, h in enumerate(headers) if h]
    dataset = tablib.Dataset(headers=[headers[i] for i in keep])
    for number, values in enumerate(grid.rows[header + 1 :], start=header + 2):
        dataset.append([values[i] for i in keep])
        proposal.origin[len(dataset)] = (number, "")
    proposal.dataset = dataset
    proposal.columns = [classify(h, i) for i, h in enumerate(headers)]
    return proposal


# -- the import ------------------------------------------------------------------------


class CommuneFigureResource(FigureBatchResource):
    """`FigureBatchResource` fed by `propose`: a dataset carrying a `grid` (from
    `CommuneXLSX` / `CommuneCSV`) is read as the office layout first. The result
    carries the proposal (`result.proposal`) for the preview."""

    def import_data(self, dataset, dry_run=False, **kwargs):
        grid = getattr(dataset, "grid", None)
        if grid is None:
            return super().import_data(dataset, dry_run=dry_run, **kwargs)
        with cycle_collection_paused():
            return self._import_grid(dataset, grid, dry_run, kwargs)

    def _import_grid(self, dataset, grid, dry_run, kwargs):
        choices = kwargs.pop("choices", None) or {}
        proposal = propose(grid, choices)
        self.proposal = proposal
        mapped = proposal.dataset
        if mapped is None:
            result = self.rejected(proposal.problems)
            result.proposal = proposal
            return result
        if proposal.problems:
            # Every problem in one pass: the rows are still checked (dry run) so
            # that the model's own errors are listed too; nothing is written.
            dry_run = True
        if proposal.target_choices:
            # The rows name only this resolution's targets, read once by propose.
            kwargs["known_targets"] = proposal.target_choices
        result = super().import_data(mapped, dry_run=dry_run, **kwargs)
        if proposal.submit:
            _submit(proposal, result, kwargs.get("user"), dry_run)
        if proposal.portal_layout:
            # The portal's template: its messages name the cells as they are; the
            # page lists them as for every other resource.
            for line in proposal.problems:
                result.append_base_error(_error(line))
            proposal.problems = []
            result.proposal = proposal
            return result
        located = []
        for error in result.base_errors:
            located.append(str(error.error))
        for row in result.invalid_rows:
            sheet_row, where = proposal.origin.get(row.number, (row.number + 1, ""))
            for column, messages in row.error_dict.items():
                for message in messages:
                    if message.startswith("Ô ") or message.startswith("("):
                        message = message.split(": ", 1)[-1]
                    place = f"Ô {where}" if where else f"Dòng {sheet_row}"
                    if column not in (NON_FIELD_ERRORS, VALUE) and where:
                        place += f" (cột “{column}”)"
                    located.append(f"{place}: {message}")
        if proposal.problems or located:
            proposal.problems.extend(
                line for line in located if line not in proposal.problems
            )
        if proposal.problems and not result.has_errors():
            result.append_base_error(
                _error(
                    f"Tệp có {len(proposal.problems)} vấn đề (xem danh sách): "
                    "không có gì được ghi."
                )
            )
        result.proposal = proposal
        return result


def _submit(proposal: Proposal, result, user, dry_run: bool) -> None:
    """ "Gửi duyệt" chosen in the preview: the entry page's submit rules on every
    row (services.import_submit_refusals), refusals naming the cell; when writing
    and nothing is refused, the rows go to the approver (services.import_submit).
    A refusal when writing is a base error: the admin rolls the import back."""
    figures, numbers = [], []
    for number, row in enumerate(result.rows, start=1):
        if (
            row.instance is not None
            and row.import_type != RowResult.IMPORT_TYPE_INVALID
        ):
            figures.append(row.instance)
            numbers.append(number)
    clean = not (result.has_errors() or result.has_validation_errors())
    refusals = {}
    if dry_run or not clean or proposal.problems:
        refusals = import_submit_refusals(figures, confirmed=proposal.confirm_flags)
    else:
        try:
            proposal.submitted = import_submit(
                user=user, figures=figures, confirmed=proposal.confirm_flags
            )
        except ImportSubmitRefused as refused:
            refusals = refused.refusals
    proposal.to_submit = sum(
        1 for f in figures if f.state in (WorkflowState.DRAFT, WorkflowState.RETURNED)
    )
    for index, messages in sorted(refusals.items()):
        sheet_row, where = proposal.origin.get(numbers[index], (numbers[index] + 1, ""))
        place = f"Ô {where}" if where else f"Dòng {sheet_row}"
        target = figures[index].target.code
        for message in messages:
            line = f"{place} (chỉ tiêu {target}, gửi duyệt): {message}"
            proposal.problems.append(line)
            if not dry_run and clean:
                result.append_base_error(_error(line))


def _error(message: str) -> Error:
    return Error(ImportRejected(message))


class _GridFormat:
    def create_dataset(self, in_stream) -> tablib.Dataset:
        data = in_stream.encode("utf-8") if isinstance(in_stream, str) else in_stream
        with cycle_collection_paused():  # 10,000 rows of cells: see import_base
            grid = read_grid(bytes(data), f"x.{self.get_extension()}")
            if not grid.rows:
                raise SpreadsheetRejected("Tệp không có dòng nào.", "empty")
            dataset = tablib.Dataset()
            for row in grid.rows:
                dataset.append(row)
        dataset.grid = grid
        return dataset


class CommuneXLSX(_GridFormat, SafeXLSX):
    """An xlsx read as the office layout (`read_grid`)."""


class CommuneCSV(_GridFormat, SafeCSV):
    """A csv read as the office layout (`read_grid`)."""


def read_path(path) -> tablib.Dataset:
    """A file on disk as a dataset for `CommuneFigureResource`."""
    path = Path(path)
    file_format = CommuneXLSX if path.suffix.lower() == ".xlsx" else CommuneCSV
    format_for_name(path.name)
    check_size(path.stat().st_size)
    return file_format().create_dataset(path.read_bytes())
