from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from targets.backups import BackupError, backup_create, summary_lines


class Command(BaseCommand):
    help = (
        "Sao lưu toàn bộ cổng thông tin: cơ sở dữ liệu (pg_dump trên PostgreSQL, "
        "API sao lưu trực tuyến trên SQLite) và các tệp minh chứng, vào một thư mục "
        "mới có ghi thời điểm (mặc định trong backups/)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "path",
            nargs="?",
            help=(
                "Thư mục sao lưu sẽ tạo; nếu là một thư mục có sẵn thì tạo bản sao "
                "lưu mới bên trong nó (mặc định: backups/ cạnh manage.py)."
            ),
        )

    def handle(self, *args, path, **options):
        try:
            result = backup_create(Path(path) if path else None)
        except BackupError as exc:
            raise CommandError(f"Sao lưu KHÔNG thành công. {exc}") from exc
        self.stdout.write(f"Đã sao lưu vào {result.path}")
        for line in summary_lines(result.manifest):
            self.stdout.write(line)
        self.stdout.write(f"  Mất {result.seconds:.1f} giây.".replace(".", ",", 1))
        self.stdout.write(
            "Khôi phục vào một cơ sở dữ liệu trống: "
            f"python manage.py restore {result.path}"
        )
