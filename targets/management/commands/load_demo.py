import datetime
from pathlib import Path

from django.core.management.base import BaseCommand
from django.utils import timezone

from targets.loaders import DEMO_FILE, demo_load


class Command(BaseCommand):
    help = (
        "Nạp tài khoản và số liệu MINH HỌA (không dùng khi vận hành thật). "
        "Cần nạp nghị quyết trước (load_resolution)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(DEMO_FILE))
        parser.add_argument(
            "--today",
            type=datetime.date.fromisoformat,
            default=None,
            help="Ngày coi là hôm nay (YYYY-MM-DD), để tính hạn nhập của quý đang mở.",
        )

    def handle(self, *args, path, today, **options):
        demo_load(Path(path), today or timezone.localdate())
        self.stdout.write("Đã nạp dữ liệu minh họa (tài khoản và số liệu mẫu).")
