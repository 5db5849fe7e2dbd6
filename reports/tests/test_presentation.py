"""The one table of how statuses look (reports.presentation) and the template filters
that read it: every verdict status, task status and report state has a colour and an
icon, and a badge drawn from them carries the icon and the words."""

from decimal import Decimal
from types import SimpleNamespace

from django.template import Context, Template
from django.test import SimpleTestCase

from reports import presentation
from reports.presentation import (
    REPORT_STYLE,
    STATUS_STYLE,
    TASK_STYLE,
    progress_bar,
    status_badge,
    style_of,
    task_style,
    task_styles,
)
from reports.reporting import BodyReport, ReportState
from targets.models import TaskStatus
from targets.progress import Status

COLOURS = {"primary", "secondary", "success", "warning", "danger", "light"}


def render(source: str, **context) -> str:
    return Template("{% load report_ui %}" + source).render(Context(context))


class StyleTableTests(SimpleTestCase):
    def test_every_verdict_status_has_a_colour_and_an_icon(self):
        self.assertEqual(set(STATUS_STYLE), set(Status))
        for style in STATUS_STYLE.values():
            self.assertIn(style.colour, COLOURS)
            self.assertTrue(style.icon)

    def test_every_task_status_has_a_colour_and_an_icon(self):
        self.assertEqual(set(TASK_STYLE), set(TaskStatus))
        for style in TASK_STYLE.values():
            self.assertIn(style.colour, COLOURS)
            self.assertTrue(style.icon)

    def test_every_report_state_has_a_colour_and_an_icon(self):
        self.assertEqual(set(REPORT_STYLE), set(ReportState))
        for style in REPORT_STYLE.values():
            self.assertIn(style.colour, COLOURS)
            self.assertTrue(style.icon)

    def test_the_three_vocabularies_share_no_value_so_one_lookup_serves_all(self):
        values = [*Status.values, *TaskStatus.values, *ReportState.values]
        self.assertEqual(len(values), len(set(values)))
        self.assertEqual(len(presentation.STYLES), len(values))

    def test_a_status_reads_the_same_by_member_or_by_value(self):
        self.assertEqual(style_of(Status.AT_RISK), ("warning", "⚠"))
        self.assertEqual(style_of("at_risk"), ("warning", "⚠"))
        self.assertEqual(style_of("done"), ("success", "✓"))
        self.assertEqual(style_of("late"), ("warning", "⚠"))
        self.assertEqual(style_of(Status.NOT_MET).icon, "✗")

    def test_an_unknown_status_is_an_error_not_a_grey_badge(self):
        with self.assertRaises(KeyError):
            style_of("bogus")


class TaskStyleTests(SimpleTestCase):
    def test_a_task_without_an_update_reads_no_update_in_light_grey(self):
        self.assertEqual(task_style(None), ("light", "–", "Chưa có cập nhật"))

    def test_a_task_update_shows_its_status_colour_icon_and_words(self):
        for status in TaskStatus:
            update = SimpleNamespace(
                status=status, get_status_display=lambda s=status: s.label
            )
            colour, icon = TASK_STYLE[status]
            self.assertEqual(task_style(update), (colour, icon, status.label))

    def test_the_counts_order_is_no_update_then_done_to_not_started(self):
        self.assertEqual(
            [label for _, _, label in task_styles()],
            [
                "Chưa có cập nhật",
                TaskStatus.DONE.label,
                TaskStatus.IN_PROGRESS.label,
                TaskStatus.DELAYED.label,
                TaskStatus.NOT_STARTED.label,
            ],
        )


class BadgeTests(SimpleTestCase):
    def test_each_status_badge_has_its_colour_class_icon_and_words(self):
        for status in Status:
            colour, icon = STATUS_STYLE[status]
            self.assertEqual(
                status_badge(status),
                f'<span class="badge status text-bg-{colour}">'
                f'<span aria-hidden="true">{icon}</span> {status.label}</span>',
            )

    def test_a_badge_takes_an_extra_class_and_a_bare_value(self):
        self.assertEqual(
            status_badge("behind", "fs-6"),
            '<span class="badge status text-bg-danger fs-6">'
            '<span aria-hidden="true">▼</span> Chậm tiến độ</span>',
        )

    def test_the_template_tag_draws_the_same_badge_and_nothing_for_no_status(self):
        for status in Status:
            self.assertEqual(
                render("{% status_badge s %}", s=status), status_badge(status)
            )
        self.assertEqual(render("{% status_badge s %}", s=None), "")

    def test_the_bar_is_filled_to_the_percent_in_the_status_colour(self):
        bar = progress_bar(Decimal("76.3"), Status.AT_RISK)
        self.assertIn('class="fill-warning" width="76.3"', bar)
        self.assertIn('aria-label="76,3% kế hoạch"', bar)


class FilterTests(SimpleTestCase):
    def test_the_filters_give_each_verdict_status_its_colour_and_icon(self):
        source = (
            '<span class="badge text-bg-{{ s|status_colour }}">'
            "{{ s|status_icon }} {{ s.label }}</span>"
        )
        for status in Status:
            colour, icon = STATUS_STYLE[status]
            self.assertEqual(
                render(source, s=status),
                f'<span class="badge text-bg-{colour}">{icon} {status.label}</span>',
            )

    def test_the_filters_serve_task_statuses_and_report_states_too(self):
        for status, (colour, icon) in {**TASK_STYLE, **REPORT_STYLE}.items():
            self.assertEqual(
                render("{{ s|status_colour }} {{ s|status_icon }}", s=status),
                f"{colour} {icon}",
            )

    def test_a_body_reports_badge_follows_its_state(self):
        report = BodyReport(body=None, deadline=None, due=["2a"], missing=["2a"])
        self.assertEqual(report.state, ReportState.MISSING)
        self.assertEqual(report.label, "Chưa báo cáo đủ")
        self.assertEqual(
            render(
                '<span class="badge text-bg-{{ r.state|status_colour }}">'
                '<span aria-hidden="true">{{ r.state|status_icon }}</span> '
                "{{ r.label }}</span> {{ r.state }}",
                r=report,
            ),
            '<span class="badge text-bg-danger"><span aria-hidden="true">✗</span> '
            "Chưa báo cáo đủ</span> missing",
        )


class Counts(dict):
    """Status counts as the summary bar reads them: counts[status], .total."""

    def __missing__(self, status):
        return 0

    @property
    def total(self):
        return sum(self.values())

    @property
    def summary(self):
        return f"{self.total} chỉ tiêu"


class StackTests(SimpleTestCase):
    def test_segments_are_shares_laid_end_to_end_in_the_summary_order(self):
        counts = Counts({Status.BEHIND: 1, Status.EXCEEDED: 2, Status.NO_DATA: 4})
        self.assertEqual(
            presentation.stack_segments(counts),
            [
                ("0", "28.57", "primary", "Vượt: 2"),
                ("28.57", "14.29", "danger", "Chậm tiến độ: 1"),
                ("42.86", "57.14", "secondary", "Chưa có số liệu: 4"),
            ],
        )

    def test_the_summary_bar_draws_one_titled_rect_per_segment(self):
        counts = Counts({Status.MET: 1})
        html = render("{% status_stack c %}", c=counts)
        self.assertIn(
            '<rect x="0" width="100.00" height="10" class="fill-success">'
            "<title>Đạt: 1</title></rect>",
            html,
        )
        self.assertIn('role="img" aria-label="1 chỉ tiêu"', html)

    def test_no_target_no_bar(self):
        self.assertEqual(render("{% status_stack c %}", c=Counts()), "")
