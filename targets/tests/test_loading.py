import datetime

from django.contrib.auth.models import User
from django.test import TestCase

from targets.loaders import demo_load, resolution_load
from targets.models import (
    Assignment,
    Figure,
    Indicator,
    ReportingPeriod,
    ResponsibleBody,
    Target,
    Task,
)

from .base import DEMO_FILE, RESOLUTION_FILE

MODELS = [Indicator, Target, Task, ResponsibleBody, Assignment, ReportingPeriod, Figure]


def snapshot():
    return {m.__name__: sorted(m.objects.values_list()) for m in MODELS} | {
        "history": Figure.history.count(),
        "users": sorted(User.objects.values_list("username", "is_superuser")),
    }


class LoadingTests(TestCase):
    def test_loading_the_resolution_twice_leaves_the_same_rows(self):
        resolution_load(RESOLUTION_FILE)
        first = snapshot()
        resolution_load(RESOLUTION_FILE)
        self.assertEqual(snapshot(), first)
        self.assertEqual(Target.objects.count(), 32)

    def test_the_demo_loader_is_idempotent_and_writes_no_second_history(self):
        today = datetime.date(2026, 11, 29)
        resolution_load(RESOLUTION_FILE)
        demo_load(DEMO_FILE, today)
        first = snapshot()
        resolution_load(RESOLUTION_FILE)
        demo_load(DEMO_FILE, today)
        self.assertEqual(snapshot(), first)

    def test_the_demo_leaves_the_fourth_quarter_open_weeks_after_loading(self):
        today = datetime.date(2031, 2, 3)
        resolution_load(RESOLUTION_FILE)
        demo_load(DEMO_FILE, today)
        q4 = ReportingPeriod.objects.get(year=2025, quarter=4)
        self.assertEqual(q4.state, "open")
        self.assertGreaterEqual(q4.deadline, today + datetime.timedelta(days=14))
        closed = ReportingPeriod.objects.filter(year=2025, quarter__lt=4)
        self.assertEqual(set(closed.values_list("state", flat=True)), {"closed"})

    def test_demo_figures_are_marked_as_demo_and_demo_users_have_their_roles(self):
        resolution_load(RESOLUTION_FILE)
        demo_load(DEMO_FILE, datetime.date(2026, 11, 29))
        self.assertTrue(Figure.objects.exists())
        self.assertFalse(Figure.objects.filter(is_demo=False).exists())
        roles = {
            u.username: [g.name for g in u.groups.all()] for u in User.objects.all()
        }
        self.assertEqual(roles["daibieu"], ["Đại biểu HĐND"])
        self.assertEqual(roles["pheduyet"], ["Lãnh đạo UBND xã (phê duyệt)"])
        self.assertEqual(roles["kinhte"], ["Cán bộ nhập liệu"])
        self.assertTrue(User.objects.get(username="quantri").is_superuser)
        kinhte = User.objects.get(username="kinhte")
        self.assertEqual([b.name for b in kinhte.bodies.all()], ["Phòng Kinh tế"])
        self.assertTrue(kinhte.check_password("khoenon-demo-2025"))

    def test_the_resolution_alone_loads_no_figures_and_no_users(self):
        resolution_load(RESOLUTION_FILE)
        self.assertFalse(Figure.objects.exists())
        self.assertFalse(User.objects.exists())
