from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from targets.backups import BackupError, backup_restore, summary_lines


class Command(BaseCommand):
    help = (
        "Khôi phục một bản sao lưu (do lệnh backup tạo) vào cơ sở dữ liệu đang cấu "
        "hình, vốn phải trống, rồi đối chiếu từng bảng với bản sao lưu."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="Thư mục sao lưu, ví dụ backups/khoenon-…")

    def handle(self, *args, path, **options):
        try:
            result = backup_restore(Path(path))
        except BackupError as exc:
            raise CommandError(f"Khôi phục KHÔNG thành công. {exc}") from exc
        tables = result.manifest["tables"]
        self.stdout.write(f"Đã khôi phục từ {result.path}")
        for line in summary_lines(result.manifest):
            self.stdout.write(line)
        self.stdout.write(
            f"  Đã đối chiếu {len(tables)} bảng: số dòng và mã kiểm tra khớp bản sao "
            "lưu."
        )
        self.stdout.write(
            f"  Tệp minh chứng: ghi mới {result.media_written}, đã có sẵn (trùng "
            f"khớp) {result.media_present}."
        )
        self.stdout.write(f"  Mất {result.seconds:.1f} giây.".replace(".", ",", 1))
        self.stdout.write(
            "Tiếp theo: chạy `python manage.py migrate` nếu phần mềm mới hơn bản sao "
            "lưu, rồi khởi động lại dịch vụ."
        )
