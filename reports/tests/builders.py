"""Data for the reports' tests, built in code: the real resolution with the demo
figures, a small hand-built resolution in which every status appears, and tasks for
the fifty-times builder of the progress tests; the two test cases most page tests
start from (DemoTestCase, EveryStatusTestCase)."""

import datetime
from decimal import Decimal

from django.contrib.auth.models import Group, User
from django.core.cache import caches
from django.test import TestCase, override_settings
from django.utils import timezone

from targets.models import (
    DELEGATE,
    ROLE_GROUPS,
    Area,
    Assessment,
    Assignment,
    BodyKind,
    Figure,
    Indicator,
    ReportingPeriod,
    Resolution,
    ResponsibleBody,
    Role,
    Task,
    TaskKind,
    TaskStatus,
    TaskUpdate,
    Verdict,
)
from targets.tests.builders import add_target, build_commune, load_portal

D = Decimal
Y = 2025
DEMO_DAY = datetime.date(2026, 11, 29)
PASSWORD = "khoenon-demo-2025"

# The demo loader and the builders set passwords; the real hasher spends about half a
# second on each, the tests need none of that strength.
FAST_PASSWORDS = override_settings(
    PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]
)


def load_demo() -> Resolution:
    """Resolution 13 with the demo accounts and figures (Q1–Q3 approved, Q4 open)."""
    # The role groups come from a data migration; a transactional test run before
    # this one flushes them.
    for name in ROLE_GROUPS:
        Group.objects.get_or_create(name=name)
    return load_portal(DEMO_DAY)


def user(username: str, group: str, bodies=()) -> User:
    person = User.objects.create_user(username, password=PASSWORD)
    person.groups.add(Group.objects.get(name=group))
    for body in bodies:
        body.members.add(person)
    return person


def at(period: ReportingPeriod, days: int) -> datetime.datetime:
    """A moment `days` after the period's deadline (negative: before), at noon."""
    day = period.deadline + datetime.timedelta(days=days)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))


# (code, indicator, comparison, combine, path, target, figures I–IV, lead body)
EVERY_STATUS = [
    ("1a", 1, "at_least", "latest", "from_start", "100", ["90", "95", "101", "105"]),
    ("1b", 1, "at_least", "sum", "from_start", "100", ["25", "25", "25", "25"]),
    ("2a", 2, "at_least", "sum", "from_start", "100", ["20", "20", "20", "10"]),
    ("2b", 2, "at_least", "sum", "from_start", "100", ["10", "10", "10", "10"]),
    ("3a", 3, "at_least", "sum", "from_start", "100", [None, None, None, None]),
    ("3b", 3, "at_most", "latest", "from_start", "15.99", ["17", "16.5", "16", "15.5"]),
    ("3c", 3, "maintain", "latest", "hold", "100", ["100", "99", "100", "100"]),
]
LEADS = {"1a": "A", "1b": "A", "2a": "B", "2b": "B", "3a": "C", "3b": "C", "3c": "C"}
# Days after the deadline each quarter III figure was submitted: B sent 2a late.
Q3_SENT = {"1a": -3, "1b": -1, "2a": 4, "2b": 0, "3b": -2, "3c": -2}
OVERRIDE_REASON = "Số liệu điều tra bổ sung của huyện cho thấy đã đạt."

# What the engine says, by quarter (checked by a test so the builder stays honest).
# At quarter I a level target with one figure and no baseline has no trend yet.
AT_Q1 = {
    "1a": "incomplete",
    "1b": "on_track",
    "2a": "at_risk",
    "2b": "behind",
    "3a": "no_data",
    "3b": "incomplete",
    "3c": "on_track",
}
AT_Q3 = {
    "1a": "already_met",
    "1b": "on_track",
    "2a": "at_risk",
    "2b": "behind",
    "3a": "no_data",
    "3b": "on_track",
    "3c": "behind",
}
AT_Q4 = {
    "1a": "exceeded",
    "1b": "met",
    "2a": "not_met",
    "2b": "met",  # computed not_met, overridden by the approver
    "3a": "no_data",
    "3b": "exceeded",
    "3c": "not_met",
}


def build_every_status(name: str = "Thử nghiệm") -> dict:
    """A resolution of seven targets over three areas and three lead bodies (A, B,
    C), every figure approved, in which each in-year status appears at quarters I
    and III and each year-end status at quarter IV, with one approver override.
    3a has no figure at all: at quarter IV it is "Chưa có số liệu", not final."""
    resolution, periods = build_commune(
        name, number="99/NQ-HĐND", title="Về kế hoạch thử nghiệm năm 2025"
    )
    commune = resolution.commune
    indicators = {
        n: Indicator.objects.create(
            resolution=resolution, number=n, area=area, text=f"Chỉ tiêu thử ({n})."
        )
        for n, area in ((1, Area.ECONOMY), (2, Area.SOCIETY), (3, Area.ENVIRONMENT))
    }
    bodies = {
        key: ResponsibleBody.objects.create(
            commune=commune, name=f"Phòng {key}", kind=BodyKind.OFFICE
        )
        for key in "ABC"
    }
    council = ResponsibleBody.objects.create(
        commune=commune, name="Thường trực HĐND xã thử", kind=BodyKind.COUNCIL
    )
    targets = {}
    for order, (code, number, comparison, combine, path, value, figures) in enumerate(
        EVERY_STATUS
    ):
        target = add_target(
            indicators[number],
            code,
            order=order,
            name=f"Chỉ tiêu {code} thử nghiệm",
            unit="%" if comparison in ("at_most", "maintain") else "tấn",
            target_value=D(value),
            comparison=comparison,
            combine=combine,
            path=path,
        )
        targets[code] = target
        Assignment.objects.create(target=target, body=bodies[LEADS[code]], role="lead")
        Assignment.objects.create(target=target, body=council, role="supervising")
        for quarter, figure in enumerate(figures, 1):
            if figure is None:
                continue
            sent = Q3_SENT.get(code) if quarter == 3 else -5
            Figure.objects.create(
                target=target,
                period=periods[quarter],
                value=D(figure),
                state="approved",
                submitted_at=at(periods[quarter], sent),
                approved_at=at(periods[quarter], 6),
                note=f"Ghi chú quý {quarter} của {code}.",
            )
    # Body B also supports 1b.
    Assignment.objects.create(target=targets["1b"], body=bodies["B"], role="supporting")
    Assessment.objects.create(
        target=targets["2b"],
        period=periods[4],
        verdict=Verdict.MET,
        reason=OVERRIDE_REASON,
    )
    task = Task.objects.create(
        resolution=resolution, kind=TaskKind.TASK, number=1, text="Nhiệm vụ thử."
    )
    solution = Task.objects.create(
        resolution=resolution,
        kind=TaskKind.SOLUTION,
        number=1,
        text="Giải pháp thử; chi tiết.",
    )
    Assignment.objects.create(task=task, body=bodies["A"], role=Role.LEAD)
    Assignment.objects.create(task=task, body=bodies["B"], role=Role.SUPPORTING)
    Assignment.objects.create(task=solution, body=bodies["C"], role=Role.LEAD)
    for quarter, status, narrative in (
        (2, TaskStatus.IN_PROGRESS, "Đang triển khai quý II."),
        (3, TaskStatus.DONE, "Hoàn thành trong quý III."),
        (4, TaskStatus.DELAYED, "Bản nháp quý IV, chưa duyệt."),
    ):
        TaskUpdate.objects.create(
            task=task,
            period=periods[quarter],
            status=status,
            narrative=narrative,
            state="approved" if quarter < 4 else "draft",
        )
    return {
        "resolution": resolution,
        "periods": periods,
        "targets": targets,
        "bodies": bodies,
        "council": council,
        "task": task,
        "solution": solution,
    }


def add_tasks(resolution: Resolution, periods: dict, scale: int) -> None:
    """Fourteen tasks per scale unit, each with a lead, a supporting body and an
    approved update in every quarter, for the query-count tests."""
    bodies = list(ResponsibleBody.objects.filter(commune=resolution.commune))
    tasks = Task.objects.bulk_create(
        Task(
            resolution=resolution,
            kind=TaskKind.TASK if i % 14 == 0 else TaskKind.SOLUTION,
            number=i + 1,
            text=f"Nội dung nhiệm vụ {i + 1}.",
        )
        for i in range(14 * scale)
    )
    Assignment.objects.bulk_create(
        a
        for i, task in enumerate(tasks)
        for a in (
            Assignment(task=task, body=bodies[i % len(bodies)], role=Role.LEAD),
            Assignment(
                task=task, body=bodies[(i + 1) % len(bodies)], role=Role.SUPPORTING
            ),
        )
    )
    TaskUpdate.objects.bulk_create(
        TaskUpdate(
            task=task,
            period=period,
            status=TaskStatus.IN_PROGRESS,
            narrative="Đang làm.",
            state="approved",
        )
        for task in tasks
        for period in periods.values()
    )


@FAST_PASSWORDS
class DemoTestCase(TestCase):
    """Resolution 13 with the demo (`cls.resolution`, its 2025 quarters in
    `cls.periods`), read by the demo's delegate (`cls.delegate`, logged in), with no
    page kept from an earlier test."""

    @classmethod
    def setUpTestData(cls):
        cls.resolution = load_demo()
        cls.delegate = User.objects.get(username="daibieu")
        cls.periods = {
            p.quarter: p
            for p in ReportingPeriod.objects.filter(
                commune=cls.resolution.commune, year=Y
            )
        }

    def setUp(self):
        caches["pages"].clear()
        self.client.force_login(self.delegate)


@FAST_PASSWORDS
class EveryStatusTestCase(TestCase):
    """The resolution in which every status appears (`cls.data`, build_every_status),
    read by a delegate (`cls.delegate`, logged in), with no page kept from an earlier
    test."""

    @classmethod
    def setUpTestData(cls):
        cls.data = build_every_status()
        cls.delegate = user("dai-bieu", DELEGATE)

    def setUp(self):
        caches["pages"].clear()
        self.client.force_login(self.delegate)
