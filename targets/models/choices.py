"""The vocabulary of the domain: the choices a row's fields take, the role groups,
the limits of a stored figure and how a change reached the database."""

from decimal import Decimal

from django.db import models

from ..numbers import MAX_INTEGER_DIGITS

# Figures and target values: up to 11 digits before the point and 4 after, 15 in all:
# what SQLite (which keeps a decimal as a float) returns exactly. A target says how
# many decimals its figures may carry (2 unless it says otherwise).
VALUE_DECIMAL_PLACES = 4
VALUE_MAX_DIGITS = MAX_INTEGER_DIGITS + VALUE_DECIMAL_PLACES
VALUE_LIMIT = Decimal(10) ** MAX_INTEGER_DIGITS
VALUE_ERRORS = {
    "max_digits": (
        f"Số quá dài: tối đa {MAX_INTEGER_DIGITS} chữ số phần nguyên và "
        f"{VALUE_DECIMAL_PLACES} chữ số thập phân. Hãy kiểm tra lại số liệu và đơn vị."
    ),
    "max_whole_digits": (
        f"Số quá lớn: phần nguyên chỉ được có tối đa {MAX_INTEGER_DIGITS} chữ số. "
        "Hãy kiểm tra lại số liệu và đơn vị tính."
    ),
    "max_decimal_places": (
        f"Số có quá {VALUE_DECIMAL_PLACES} chữ số thập phân; hệ thống không tự làm "
        "tròn."
    ),
}


# Roles are Django groups. A clerk also belongs to one or more responsible bodies.
CLERK = "Cán bộ nhập liệu"
APPROVER = "Lãnh đạo UBND xã (phê duyệt)"
DELEGATE = "Đại biểu HĐND"
ADMINISTRATOR = "Quản trị hệ thống"
ROLE_GROUPS = [CLERK, APPROVER, DELEGATE, ADMINISTRATOR]


class Area(models.TextChoices):
    ECONOMY = "economy", "Kinh tế"
    SOCIETY = "society", "Xã hội"
    ENVIRONMENT = "environment", "Môi trường"


class Comparison(models.TextChoices):
    AT_LEAST = "at_least", "Đạt (≥)"
    ABOVE = "above", "Trên (>)"
    AT_MOST = "at_most", "Giảm xuống còn (≤)"
    MAINTAIN = "maintain", "Duy trì (≥ ở mọi kỳ)"


class Combine(models.TextChoices):
    SUM = "sum", "Cộng dồn các quý"
    LATEST = "latest", "Số tại thời điểm (lũy kế)"


class ExpectedPath(models.TextChoices):
    FROM_START = "from_start", "Tiến dần từ điểm xuất phát"
    HOLD = "hold", "Giữ mức chỉ tiêu cả năm"


class TaskKind(models.TextChoices):
    TASK = "task", "Nhiệm vụ"
    SOLUTION = "solution", "Giải pháp"


class BodyKind(models.TextChoices):
    PEOPLES_COMMITTEE = "committee", "Ủy ban nhân dân"
    COUNCIL = "council", "Hội đồng nhân dân"
    OFFICE = "office", "Cơ quan chuyên môn"
    FRONT = "front", "Mặt trận Tổ quốc và đoàn thể"


class Role(models.TextChoices):
    """How a body stands to a target or task. IMPLEMENTING is Article 2.1 of a
    resolution ("Ủy ban nhân dân xã tổ chức triển khai thực hiện"): the body answers
    for the whole resolution, above the office that leads each item."""

    IMPLEMENTING = "implementing", "Tổ chức thực hiện"
    LEAD = "lead", "Chủ trì"
    SUPPORTING = "supporting", "Phối hợp"
    SUPERVISING = "supervising", "Giám sát"


class PeriodState(models.TextChoices):
    OPEN = "open", "Đang mở"
    CLOSED = "closed", "Đã khóa sổ"


class FigureKind(models.TextChoices):
    ACTUAL = "actual", "Thực hiện"
    ESTIMATE = "estimate", "Ước thực hiện"


class WorkflowState(models.TextChoices):
    DRAFT = "draft", "Bản nháp"
    SUBMITTED = "submitted", "Đã gửi duyệt"
    RETURNED = "returned", "Bị trả lại"
    APPROVED = "approved", "Đã phê duyệt"


class TaskStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Chưa triển khai"
    IN_PROGRESS = "in_progress", "Đang triển khai"
    DONE = "done", "Hoàn thành"
    DELAYED = "delayed", "Chậm"


class Verdict(models.TextChoices):
    EXCEEDED = "exceeded", "Vượt"
    MET = "met", "Đạt"
    NOT_MET = "not_met", "Không đạt"


class ReminderKind(models.TextChoices):
    CLERK = "clerk", "Nhắc cán bộ nhập liệu"
    APPROVER = "approver", "Nhắc lãnh đạo phê duyệt"


# How a change reached the database, recorded as django-simple-history's change reason.
VIA_FORM = "Trang nhập số liệu"
VIA_ADMIN = "Trang quản trị"
VIA_IMPORT = "Nhập từ bảng tính"
VIA_REVIEW = "Trang duyệt số liệu"
VIA_API = "API"
