"""What a reader page costs to draw again after a change (issue 17): each target is
judged once per drawing, and the rows formatted in Python (a target's cells, a
report row) print exactly what the templates they replace printed, for every
status, a link or none, an approver's override and an estimated figure."""

from unittest import mock

from django.template import engines
from django.urls import reverse

from reports import presentation
from reports.comparison import RowKind, build_report
from targets.models import Figure, FigureKind
from targets.progress import evaluate
from targets.progress_load import load_resolution_progress

from .builders import DEMO_DAY, EveryStatusTestCase

# The markup the include and the report template printed before, kept as the
# reference the Python formatting must match byte for byte.
OLD_TARGET_CELLS = """{% load report_ui %}
        <td class="code">{{ l.target.code }}</td>
        <td class="name">{% if l.url %}<a href="{{ l.url }}">{{ l.target.name }}</a>{% else %}{{ l.target.name }}{% endif %}<div class="small text-muted">{{ note_label }}: {{ note }}</div></td>
        <td class="num val"><span class="m-label">Thực hiện</span>{{ l.value }}</td>
        <td class="{{ plan_class }}"><span class="m-label">Kế hoạch</span>{{ l.plan }}<span class="m-unit">{{ l.target.unit|unit_after }}</span></td>
        <td class="unit">{{ l.target.unit }}</td>
        <td class="num pct"><span class="m-label">So với KH</span>{{ l.versus }}</td>
        <td class="st">{{ l.badge }}{{ l.override }}</td>
        <td class="bar">{{ l.bar }}</td>
"""  # noqa: E501

# The loops around them, as _dashboard.html and _bodies.html had them; `cells` is
# what target_cells printed for the row (pinned above).
OLD_DASHBOARD_ROWS = """{% for l, cells in rows %}
      <tr id="ct-{{ l.target.pk }}" data-status="{{ l.status }}">
        {{ cells }}
      </tr>
      {% endfor %}"""

OLD_BODY_ROWS = """{% for l, cells in rows %}
      <tr data-status="{{ l.status }}" data-target="{{ l.target.pk }}">
        {{ cells }}
      </tr>
    {% endfor %}"""

OLD_REPORT_ROW = """{% load vn report_ui %}<tr class="r-target{% if row.overridden %} overridden{% endif %}" data-code="{{ row.code }}" data-status="{{ row.status.value }}">
        <td class="tt">{{ row.tt }}</td>
        <td>{{ row.name }}</td>
        <td class="unit">{{ row.unit }}</td>
        <td class="n">{{ row.plan|vn_number:row.plan_places }}</td>
        {% for v, est in row.cells %}<td class="n">{{ v|vn_number }}{% if est and v is not None %} <abbr title="Số ước thực hiện">(ư)</abbr>{% endif %}</td>{% endfor %}
        <td class="n">{{ row.estimate|vn_number }}</td>
        <td class="n">{% if row.percent is not None %}{{ row.percent|vn_number }}%{% endif %}</td>
        <td class="n">{{ row.gap|signed }}</td>
        <td class="verdict"{% if row.overridden %} title="{{ row.override_words|capfirst }}"{% endif %}>{{ row.verdict_label }}</td>
      </tr>"""  # noqa: E501


def old(source: str, **context) -> str:
    return engines["django"].from_string(source).render(context)


class RowsAsTheTemplatesPrintedThem(EveryStatusTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        # An estimated figure (ước), and a target name and unit that need escaping.
        Figure.objects.filter(
            target=cls.data["targets"]["1a"], period=cls.data["periods"][2]
        ).update(kind=FigureKind.ESTIMATE)
        target = cls.data["targets"]["3b"]
        target.name = 'Nước sạch <"hợp vệ sinh"> & an toàn'
        target.unit = "% hộ"
        target.save()

    def quarters(self):
        resolution = self.data["resolution"]
        for quarter, period in sorted(self.data["periods"].items()):
            with self.subTest(quarter=quarter):
                yield load_resolution_progress(resolution, period)

    def test_a_targets_cells(self):
        for progress in self.quarters():
            some = {i.target.pk for i in progress.items[::2]}
            for linkable in (None, some):
                lines = presentation.target_lines(
                    progress.items, "reports:target", progress.period, linkable
                )
                for line in lines.values():
                    for label, note, plan_class in (
                        ("Chủ trì", line.lead, "num"),
                        ("Vai trò", "chủ trì & <phối hợp>", "num plan"),
                    ):
                        self.assertEqual(
                            presentation.target_cells(line, label, note, plan_class),
                            old(
                                OLD_TARGET_CELLS,
                                l=line,
                                note_label=label,
                                note=note,
                                plan_class=plan_class,
                            ),
                        )

    def test_the_rows_around_the_cells(self):
        for progress in self.quarters():
            lines = presentation.target_lines(
                progress.items, "reports:target", progress.period
            )
            ordered = list(lines.values())
            self.assertEqual(
                presentation.dashboard_rows(ordered),
                old(
                    OLD_DASHBOARD_ROWS,
                    rows=[
                        (
                            line,
                            presentation.target_cells(
                                line, "Chủ trì", line.lead, "num"
                            ),
                        )
                        for line in ordered
                    ],
                ),
            )
            pairs = [(line, a) for line in ordered for a in line.item.assignments]
            self.assertEqual(
                presentation.body_rows(pairs),
                old(
                    OLD_BODY_ROWS,
                    rows=[
                        (
                            line,
                            presentation.target_cells(
                                line,
                                "Vai trò",
                                a.get_role_display().lower(),
                                "num plan",
                            ),
                        )
                        for line, a in pairs
                    ],
                ),
            )

    def test_a_report_row(self):
        seen = set()
        for progress in self.quarters():
            report = build_report(progress, DEMO_DAY)
            for row in report.rows:
                if row.kind != RowKind.TARGET:
                    continue
                seen.add((row.overridden, any(row.estimated)))
                self.assertEqual(
                    presentation.report_row(row), old(OLD_REPORT_ROW, row=row)
                )
        # The override (2b at quarter IV) and the estimate were among the rows.
        self.assertIn((True, False), seen)
        self.assertIn((False, True), seen)


class JudgedOncePerDrawing(EveryStatusTestCase):
    def test_each_target_is_judged_once_per_page(self):
        resolution = self.data["resolution"]
        period = self.data["periods"][3]
        targets = len(self.data["targets"])
        query = f"?nq={resolution.pk}&ky={period.pk}"
        for name in ("reports:dashboard", "reports:bodies", "reports:report"):
            with (
                self.subTest(page=name),
                mock.patch(
                    "targets.progress_load.evaluate",
                    wraps=evaluate,
                ) as judged,
            ):
                response = self.client.get(reverse(name) + query)
                self.assertEqual(response.status_code, 200)
                self.assertEqual(judged.call_count, targets)
