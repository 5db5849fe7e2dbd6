"""The plausibility rules (targets/plausibility.py) one by one, on plain values: what
a clerk and an approver read next to a value worth a second look, and what passes
without a word."""

from decimal import Decimal

from django.test import SimpleTestCase

from targets.models import Combine, Comparison, ExpectedPath
from targets.plausibility import flags_for
from targets.progress import TargetSpec

D = Decimal
Q1, Q2, Q3, Q4 = ((2025, q) for q in range(1, 5))


def spec(**fields) -> TargetSpec:
    """A calendar-year target of 400 that cannot be negative, summed over quarters
    unless told otherwise."""
    base = {
        "code": "x",
        "comparison": Comparison.AT_LEAST,
        "combine": Combine.SUM,
        "path": ExpectedPath.FROM_START,
        "target_value": D(400),
        "window": [Q1, Q2, Q3, Q4],
        "min_value": D(0),
    }
    return TargetSpec(**{**base, **fields})


def level(**fields) -> TargetSpec:
    """A level held all year (not built up), target 100."""
    base = {
        "combine": Combine.LATEST,
        "path": ExpectedPath.HOLD,
        "target_value": D(100),
    }
    return spec(**{**base, **fields})


class SumFlagTests(SimpleTestCase):
    def test_a_quarter_far_below_its_share_of_the_plan_is_flagged_with_the_unit(self):
        flags = flags_for(spec(), {Q1: D(30)}, Q1, unit="tấn")
        self.assertEqual(
            flags,
            [
                "Số trong quý 30 tấn chưa bằng 1/3 mức kế hoạch bình quân một quý "
                "(100 tấn). Kiểm tra đơn vị tính và số chữ số."
            ],
        )

    def test_a_quarter_near_its_share_of_the_plan_says_nothing(self):
        for value in ("34", "100", "300"):
            with self.subTest(value=value):
                self.assertEqual(flags_for(spec(), {Q1: D(value)}, Q1), [])

    def test_a_quarter_far_from_the_earlier_quarters_mean_is_flagged_too(self):
        values = {Q1: D(100), Q2: D(100), Q3: D(101), Q4: D(20)}
        flags = flags_for(spec(), values, Q4, unit="tấn")
        self.assertEqual(len(flags), 2, flags)
        # The mean (100,333…) is a reference, shown to two decimals.
        self.assertEqual(
            flags[1],
            "Số trong quý 20 tấn chưa bằng 1/3 bình quân các quý trước "
            "(100,33 tấn). Hãy kiểm tra lại.",
        )

    def test_the_earlier_quarters_need_two_values_not_all_zero_to_compare(self):
        plan = spec(target_value=D(1200))  # 300 a quarter: 150 is near the plan
        cases = {
            "one earlier quarter": {Q1: D(10), Q2: D(150)},
            "earlier quarters all zero": {Q1: D(0), Q2: D(0), Q3: D(150)},
        }
        for name, values in cases.items():
            with self.subTest(name):
                self.assertEqual(flags_for(plan, values, max(values)), [])
        flags = flags_for(plan, {Q1: D(10), Q2: D(20), Q3: D(150)}, Q3)
        self.assertEqual(
            flags,
            [
                "Số trong quý 150 gấp hơn 3 lần bình quân các quý trước (15). Hãy kiểm "
                "tra lại."
            ],
        )

    def test_a_seasonal_plan_expects_the_harvest_quarter_to_weigh_more(self):
        seasonal = spec(target_value=D(1000), profile=(D(10), D(40), D(10), D(40)))
        (low,) = flags_for(seasonal, {Q2: D(100)}, Q2)
        self.assertIn("mức kế hoạch bình quân một quý (400)", low)
        (high,) = flags_for(seasonal, {Q1: D(350)}, Q1)
        self.assertIn("gấp hơn 3 lần mức kế hoạch bình quân một quý (100)", high)
        self.assertEqual(flags_for(seasonal, {Q2: D(350)}, Q2), [])

    def test_no_share_of_the_plan_no_plan_flag(self):
        nothing_planned = spec(profile=(D(0), D(0), D(0), D(0)))
        self.assertEqual(flags_for(nothing_planned, {Q1: D(5000)}, Q1), [])
        from_q3 = spec(window=[Q3, Q4])
        self.assertEqual(flags_for(from_q3, {Q2: D(5000)}, Q2), [])

    def test_a_quarter_with_no_value_says_nothing(self):
        self.assertEqual(flags_for(spec(), {Q1: D(100)}, Q2), [])


class LevelFlagTests(SimpleTestCase):
    def test_a_level_below_a_third_of_the_plan_is_flagged_unless_it_may_be_negative(
        self,
    ):
        self.assertEqual(
            flags_for(level(), {Q1: D(30)}, Q1, unit="%"),
            [
                "Số 30 % chưa bằng 1/3 kế hoạch (100 %). Kiểm tra đơn vị tính và số "
                "chữ số."
            ],
        )
        self.assertEqual(flags_for(level(min_value=None), {Q1: D(30)}, Q1), [])
        self.assertEqual(flags_for(level(), {Q1: D(30)}, Q1, allows_negative=True), [])

    def test_a_level_that_jumps_from_the_quarter_before_is_flagged_both_ways(self):
        up = flags_for(level(), {Q3: D(40), Q4: D(130)}, Q4)
        self.assertEqual(
            up,
            [
                "Số 130 gấp hơn 3 lần số quý III/2025 (40): thay đổi đột ngột, hãy "
                "kiểm tra lại."
            ],
        )
        down = flags_for(level(), {Q3: D(90), Q4: D(29)}, Q4)
        self.assertEqual(len(down), 2, down)  # below a third of the plan, and of Q3
        self.assertEqual(
            down[1],
            "Số 29 chưa bằng 1/3 số quý III/2025 (90): thay đổi đột ngột, hãy kiểm "
            "tra lại.",
        )

    def test_a_share_that_moves_more_than_a_quarter_of_its_range_is_flagged(self):
        share = level(target_value=D(80), max_value=D(100))
        self.assertEqual(
            flags_for(share, {Q3: D(60), Q4: D(90)}, Q4),
            ["Số 90 thay đổi nhiều so với quý III/2025 (60): hãy kiểm tra lại."],
        )
        self.assertEqual(flags_for(share, {Q3: D(60), Q4: D(85)}, Q4), [])

    def test_only_the_latest_earlier_quarter_is_compared(self):
        values = {Q1: D(10), Q2: D(95), Q3: D(100)}
        self.assertEqual(flags_for(level(), values, Q3), [])

    def test_a_figure_that_may_be_negative_is_never_judged_on_its_ratios(self):
        growth = level(min_value=D(-50), target_value=D(5))
        self.assertEqual(flags_for(growth, {Q3: D(1), Q4: D(-12)}, Q4), [])
        self.assertEqual(flags_for(growth, {Q3: D(1), Q4: D(12)}, Q4), [])
        # Above three times the plan is still worth a look.
        self.assertEqual(len(flags_for(growth, {Q4: D(16)}, Q4)), 1)

    def test_a_level_that_only_falls_by_design_is_not_a_falling_flow(self):
        poverty = level(
            comparison=Comparison.AT_MOST,
            path=ExpectedPath.FROM_START,
            target_value=D(8),
        )
        self.assertEqual(flags_for(poverty, {Q3: D(10), Q4: D("8.5")}, Q4), [])

    def test_a_built_up_level_that_falls_is_flagged_before_any_ratio(self):
        coverage = level(path=ExpectedPath.FROM_START, target_value=D(90))
        # 31 is also under a third of 100: one flag says it, the fall.
        (flag,) = flags_for(coverage, {Q2: D(100), Q3: D(31)}, Q3)
        self.assertIn("thấp hơn quý II/2025 (100): chỉ tiêu này tích lũy dần", flag)
        self.assertIn("Nếu đúng là giảm, hãy ghi rõ nguyên nhân.", flag)
