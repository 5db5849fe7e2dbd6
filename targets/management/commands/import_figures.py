from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from targets.import_base import (
    error_count,
    error_lines,
    totals_line,
)
from targets.rules import can_import
from targets.sheets import CommuneFigureResource, read_path
from targets.spreadsheet_limits import SpreadsheetRejected, is_blank


class Command(BaseCommand):
    help = (
        "Nhập số liệu thực hiện từ một tệp .xlsx hoặc .csv (cột như tệp mẫu trong "
        "trang quản trị). Tất cả hoặc không gì cả: tệp có lỗi thì không ghi dòng nào."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Đường dẫn tệp .xlsx hoặc .csv.")
        parser.add_argument(
            "--user",
            required=True,
            help="Tên đăng nhập của quản trị viên nhập số liệu (ghi vào lịch sử).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Chỉ kiểm tra và báo cáo những gì sẽ thay đổi; không ghi gì.",
        )

    def handle(self, *args, file, user, dry_run, **options):
        account = get_user_model().objects.filter(username=user, is_active=True).first()
        if account is None or not can_import(account):
            raise CommandError(
                f"“{user}” không phải là tài khoản quản trị hệ thống đang hoạt động: "
                "chỉ quản trị hệ thống được nhập số liệu từ bảng tính."
            )
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"Không tìm thấy tệp “{file}”.")
        try:
            # The portal's template or the office's own layout (targets.sheets).
            dataset = read_path(path)
        except SpreadsheetRejected as error:
            message = f"Không nhập tệp “{path.name}”: {error.message}"
            raise CommandError(message) from None

        result = CommuneFigureResource().import_data(
            dataset, dry_run=dry_run, user=account, with_diff=False
        )
        proposal = getattr(result, "proposal", None)
        # Empty rows between the data stay in the dataset (so that messages name the
        # sheet's row) but are not rows of figures.
        filled = sum(1 for values in dataset if not is_blank(values))
        if proposal is not None:
            rows = proposal.dataset or []
            filled = sum(1 for values in rows if not is_blank(values))
            for line in proposal.notes + proposal.warnings:
                self.stdout.write(line)
        self.stdout.write(f"Tệp “{path.name}”: {filled} dòng số liệu.")
        self.stdout.write(totals_line(result))
        problems = error_count(result)
        if problems:
            lines = proposal.problems if proposal and proposal.problems else []
            for line in lines or error_lines(result):
                self.stderr.write(line)
            raise CommandError(
                f"Tệp có {problems} lỗi nên không có gì được ghi vào cơ sở dữ liệu. "
                "Hãy sửa các lỗi trên rồi chạy lại."
            )
        for line in getattr(result, "plausibility_warnings", []):
            self.stdout.write(f"Cần kiểm tra: {line}")
        if dry_run:
            self.stdout.write("Chạy thử (--dry-run): không ghi gì vào cơ sở dữ liệu.")
        else:
            self.stdout.write("Đã nhập xong.")
