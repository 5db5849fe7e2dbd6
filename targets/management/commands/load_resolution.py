from pathlib import Path

from django.core.management.base import BaseCommand

from targets.loaders import RESOLUTION_FILE, resolution_load


class Command(BaseCommand):
    help = (
        "Nạp (hoặc nạp lại) một nghị quyết từ tệp fixtures; "
        "chạy nhiều lần không nhân đôi."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(RESOLUTION_FILE))

    def handle(self, *args, path, **options):
        resolution = resolution_load(Path(path))
        targets = sum(i.targets.count() for i in resolution.indicators.all())
        self.stdout.write(
            f"Đã nạp {resolution}: {resolution.indicators.count()} chỉ tiêu, "
            f"{targets} chỉ tiêu cụ thể, "
            f"{resolution.tasks.count()} nhiệm vụ, giải pháp."
        )
