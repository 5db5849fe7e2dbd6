"""The administrator's import journey in Debian's headless Chromium at 1280 px:
upload the commune's own sheet, see the mapping, change one choice and preview
again, confirm (issue 13)."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from targets.loaders import resolution_load
from targets.models import Figure, WorkflowState

from .base import RESOLUTION_FILE, office_xlsx

HEADERS = ["TT", "Chỉ tiêu", "ĐVT", "Kế hoạch 2025", "Thực hiện", "Ghi chú"]
ROWS = [
    ["I", "KINH TẾ", None, None, None, None],
    ["1", "Tổng sản lượng lương thực có hạt", "Tấn", "3.865,28", "2.000,5", None],
    ["2", "Thu ngân sách nhà nước trên địa bàn", "nghìn đồng", None, 35000, None],
    [None, "Người lập biểu", None, None, None, None],
]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_administrator_imports_the_commune_sheet_through_the_mapping(
    browser_page, tmp_path
):
    resolution_load(RESOLUTION_FILE)
    User.objects.create_superuser("quantri", "", "khoenon-demo-2025")
    sheet = tmp_path / "bieu-tong-hop.xlsx"
    # The title names no quarter and the value column says only "Thực hiện".
    sheet.write_bytes(office_xlsx(ROWS, HEADERS, title="BIỂU TỔNG HỢP SỐ LIỆU"))

    admin = browser_page(width=1280, height=900)
    admin.login("quantri")
    admin.goto("/admin/targets/figure/import/")
    page = admin.page
    assert "ô công thức lấy giá trị tính sẵn" in page.inner_text("#content")
    page.set_input_files("#id_import_file", str(sheet))
    page.select_option("#id_format", "0")
    page.click("input[type=submit][value='Xem trước']")
    page.wait_for_load_state()

    # The mapping: columns, rows and how they matched; the unknown period asked.
    columns = page.inner_text("#import-columns")
    assert "Tên chỉ tiêu" in columns and "Đơn vị tính" in columns
    assert "Số liệu – chưa rõ kỳ (hãy chọn)" in columns
    rows = page.inner_text("#import-rows")
    assert "2a – Tổng sản lượng lương thực có hạt" in rows
    assert "theo tên" in rows
    assert "Ô E3 (“Thực hiện”): không rõ cột" in page.inner_text("#import-problems")
    assert page.locator("input[value='Xác nhận nhập']").count() == 0
    admin.screenshot("import-mapping-asks-the-period")

    # One choice changed, previewed again.
    page.select_option("select[name='col:E']", "q:2025:3")
    page.click("input[type=submit][value='Xem trước lại với lựa chọn này']")
    page.wait_for_load_state()
    assert "Số liệu quý III/2025" in page.inner_text("#import-columns")
    notes = page.inner_text("#import-notes")
    assert "đơn vị “nghìn đồng” được quy đổi sang “triệu đồng”" in notes
    assert page.locator("#import-problems").count() == 0
    admin.screenshot("import-preview-ready")
    assert Figure.objects.count() == 0

    page.click("input[type=submit][value='Xác nhận nhập']")
    page.wait_for_load_state()
    assert "Đã nhập" in page.inner_text("#content-start, body")
    admin.screenshot("import-confirmed")
    stored = {
        f.target.code: f for f in Figure.objects.select_related("target", "period")
    }
    assert set(stored) == {"1", "2a"}
    assert stored["2a"].value == Decimal("2000.5")
    assert stored["1"].value == Decimal("35")
    assert stored["2a"].period.quarter == 3
    assert stored["2a"].state == WorkflowState.DRAFT
    assert admin.console_errors == []
    assert admin.outside_requests == []
