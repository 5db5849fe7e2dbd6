import datetime
import io
import json
import tempfile
from decimal import Decimal
from pathlib import Path

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import TestCase

from targets.loaders import (
    DEMO_FILE,
    RESOLUTION_FILE,
    demo_load,
    period_ensure,
    resolution_load,
)
from targets.models import (
    Assignment,
    Commune,
    Figure,
    Indicator,
    PeriodState,
    ReportingPeriod,
    Resolution,
    ResponsibleBody,
    Role,
    Target,
    Task,
    WorkflowState,
)

DEMO_DAY = datetime.date(2026, 11, 29)

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


class ReloadTests(TestCase):
    """A reload is how the adopted text wins back: what was edited since is put
    back, what was not is left alone, and a bad fixture writes nothing."""

    @classmethod
    def setUpTestData(cls):
        resolution_load(RESOLUTION_FILE)

    def test_a_reload_puts_an_edited_target_back_to_the_adopted_text(self):
        grain = Target.objects.get(code="2a")
        adopted = (grain.target_value, grain.clause, grain.window)
        Target.objects.filter(pk=grain.pk).update(
            target_value=Decimal("1"), clause="Sửa tay", window_end_quarter=2
        )
        resolution_load(RESOLUTION_FILE)
        grain.refresh_from_db()
        self.assertEqual((grain.target_value, grain.clause, grain.window), adopted)

    def test_a_reload_puts_back_an_article_2_assignment_changed_since(self):
        committee = ResponsibleBody.objects.get(name="Ủy ban nhân dân xã Khoen On")
        Assignment.objects.filter(body=committee).update(role=Role.SUPPORTING)
        Assignment.objects.filter(body=committee).first().delete()
        resolution_load(RESOLUTION_FILE)
        roles = set(
            Assignment.objects.filter(body=committee).values_list("role", flat=True)
        )
        self.assertEqual(roles, {Role.IMPLEMENTING})
        self.assertEqual(
            Assignment.objects.filter(body=committee).count(),
            Target.objects.count() + Task.objects.count(),
        )

    def test_a_reload_keeps_a_period_s_state_and_deadline(self):
        q3 = ReportingPeriod.objects.get(year=2025, quarter=3)
        later = q3.deadline + datetime.timedelta(days=10)
        ReportingPeriod.objects.filter(pk=q3.pk).update(
            state=PeriodState.CLOSED, deadline=later
        )
        resolution_load(RESOLUTION_FILE)
        q3.refresh_from_db()
        self.assertEqual((q3.state, q3.deadline), (PeriodState.CLOSED, later))

    def test_a_new_period_gets_the_decree_09_window_and_the_20th_as_deadline(self):
        commune = Commune.objects.get()
        period = period_ensure(commune, 2026, 2)
        self.assertEqual(
            (period.data_from, period.data_to, period.deadline),
            (
                datetime.date(2026, 3, 15),
                datetime.date(2026, 6, 14),
                datetime.date(2026, 6, 20),
            ),
        )
        self.assertEqual(period.state, PeriodState.OPEN)
        self.assertEqual(period_ensure(commune, 2026, 2).pk, period.pk)

    def test_a_fixture_with_a_target_that_breaks_a_rule_is_refused_whole(self):
        data = json.loads(RESOLUTION_FILE.read_text(encoding="utf-8"))
        data["resolution"].pop("source_text_file")
        data["indicators"][-1]["targets"][-1]["comparison"] = "gần bằng"
        before = snapshot()
        with tempfile.TemporaryDirectory() as folder:
            bad = Path(folder) / "resolution.json"
            bad.write_text(json.dumps(data), encoding="utf-8")
            with self.assertRaises(ValidationError) as refused:
                resolution_load(bad)
        self.assertIn("comparison", refused.exception.message_dict)
        self.assertEqual(snapshot(), before)

    def test_a_fixture_for_another_commune_writes_none_of_it_when_refused(self):
        data = json.loads(RESOLUTION_FILE.read_text(encoding="utf-8"))
        data["resolution"].pop("source_text_file")
        data["commune"] = {"name": "Xã Thử", "province": "Lai Châu"}
        data["indicators"][0]["targets"][0]["window_start_quarter"] = 5
        with tempfile.TemporaryDirectory() as folder:
            bad = Path(folder) / "resolution.json"
            bad.write_text(json.dumps(data), encoding="utf-8")
            with self.assertRaises(ValidationError):
                resolution_load(bad)
        self.assertFalse(Commune.objects.filter(name="Xã Thử").exists())
        self.assertEqual(Resolution.objects.count(), 1)


class DemoReloadTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        resolution_load(RESOLUTION_FILE)
        demo_load(DEMO_FILE, DEMO_DAY)

    def test_a_demo_reload_gives_back_the_published_password_and_the_roles(self):
        kinhte = User.objects.get(username="kinhte")
        kinhte.set_password("doi-roi")
        kinhte.is_staff = True
        kinhte.save()
        kinhte.groups.clear()
        demo_load(DEMO_FILE, DEMO_DAY)
        kinhte.refresh_from_db()
        self.assertTrue(kinhte.check_password("khoenon-demo-2025"))
        self.assertFalse(kinhte.is_staff)
        self.assertEqual([g.name for g in kinhte.groups.all()], ["Cán bộ nhập liệu"])
        self.assertEqual(kinhte.email, "kinhte@khoenon.example")

    def test_a_demo_reload_keeps_the_first_publication_date(self):
        q1 = ReportingPeriod.objects.get(year=2025, quarter=1)
        self.assertIsNotNone(q1.published_at)
        demo_load(DEMO_FILE, DEMO_DAY + datetime.timedelta(days=30))
        self.assertEqual(
            ReportingPeriod.objects.get(pk=q1.pk).published_at, q1.published_at
        )

    def test_a_demo_reload_moves_the_open_quarter_s_deadline_to_the_new_today(self):
        later = DEMO_DAY + datetime.timedelta(days=100)
        demo_load(DEMO_FILE, later)
        q4 = ReportingPeriod.objects.get(year=2025, quarter=4)
        self.assertEqual(q4.deadline, later + datetime.timedelta(days=28))
        self.assertEqual(q4.state, PeriodState.OPEN)

    def test_a_sent_demo_figure_changed_since_is_put_back(self):
        figure = Figure.objects.get(target__code="7b", period__quarter=4)
        self.assertEqual(figure.state, WorkflowState.SUBMITTED)
        Figure.objects.filter(pk=figure.pk).update(value=Decimal("1"), note="")
        demo_load(DEMO_FILE, DEMO_DAY)
        figure.refresh_from_db()
        self.assertEqual((figure.value, figure.note), (165, "Ước thực hiện quý IV."))


class LoadCommandTests(TestCase):
    def test_the_load_commands_say_what_they_loaded(self):
        out = io.StringIO()
        call_command("load_resolution", stdout=out)
        self.assertEqual(
            out.getvalue().strip(),
            "Đã nạp Nghị quyết số 13/NQ-HĐND: 11 chỉ tiêu, 32 chỉ tiêu cụ thể, "
            "14 nhiệm vụ, giải pháp.",
        )
        out = io.StringIO()
        call_command("load_demo", "--today", "2026-11-29", stdout=out)
        self.assertIn("Đã nạp dữ liệu minh họa", out.getvalue())
        q4 = ReportingPeriod.objects.get(year=2025, quarter=4)
        self.assertEqual(q4.deadline, datetime.date(2026, 12, 27))

    def test_the_demo_before_its_resolution_is_refused(self):
        with self.assertRaises(Resolution.DoesNotExist):
            call_command("load_demo", stdout=io.StringIO())
        self.assertFalse(User.objects.exists())
