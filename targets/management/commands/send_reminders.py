"""Daily reminder emails (run by the systemd timer khoenon-reminders.timer, see
docs/deploy.md): each clerk hears what their bodies have not sent before a quarter's
deadline, each approver what waits for approval or is overdue. Running it twice the
same day sends nothing new."""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from targets.reminders import send_reminders


class Command(BaseCommand):
    help = (
        "Gửi thư nhắc hằng ngày: cán bộ nhập liệu biết mục nào còn chưa gửi duyệt "
        "trước hạn; lãnh đạo biết mục nào chờ phê duyệt hoặc đã quá hạn. Mỗi người "
        "nhận tối đa một thư mỗi loại mỗi ngày."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--date",
            help="Ngày tính nhắc, dd/mm/yyyy hoặc YYYY-MM-DD (mặc định: hôm nay).",
        )

    def handle(self, *args, date=None, **options):
        today = timezone.localdate()
        if date:
            today = _parse_date(date)
        report = send_reminders(today)
        self.stdout.write(
            f"Thư nhắc ngày {today:%d/%m/%Y}: đã gửi {report.sent}; "
            f"{report.already_sent} thư đã gửi trước đó trong ngày; "
            f"{report.nothing_to_say} người không có gì cần nhắc."
        )
        if report.without_email:
            self.stdout.write(
                "Chưa gửi được vì tài khoản chưa có địa chỉ email (bổ sung trong "
                "trang quản trị): " + ", ".join(report.without_email)
            )
        if report.failed:
            raise CommandError(
                "Máy chủ thư từ chối hoặc không kết nối được khi gửi cho: "
                + ", ".join(report.failed)
                + ". Kiểm tra EMAIL_HOST và tài khoản; lần chạy sau sẽ gửi lại."
            )


def _parse_date(text: str) -> datetime.date:
    for form in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.datetime.strptime(text, form).date()
        except ValueError:
            continue
    raise CommandError(
        f"Ngày “{text}” không đúng dạng dd/mm/yyyy (ví dụ 15/12/2025) hoặc YYYY-MM-DD."
    )
