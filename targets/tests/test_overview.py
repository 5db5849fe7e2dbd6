"""The resolution overview's reading of the adopted text (targets.overview)."""

from django.test import SimpleTestCase

from targets.models import Assignment, ResponsibleBody, Role
from targets.overview import between, in_charge, supervisors, text_paragraphs

TEXT = """Điều 1. Thông qua

1. Mục tiêu chung
Phát triển kinh tế

nhanh và bền vững.

2. Mục tiêu cụ thể

Điều 2. Tổ chức thực hiện
Giao UBND xã.

Điều 3. Hiệu lực

Nơi nhận:"""


class TextTests(SimpleTestCase):
    def test_a_paragraph_split_by_a_page_break_is_joined_again(self):
        paragraphs = text_paragraphs(TEXT)
        self.assertIn("Phát triển kinh tế nhanh và bền vững.", paragraphs[1])
        self.assertEqual(paragraphs[0], "Điều 1. Thông qua")

    def test_between_takes_from_the_first_paragraph_to_before_the_stop(self):
        paragraphs = text_paragraphs(TEXT)
        self.assertEqual(
            between(paragraphs, "Điều 2.", "Điều 3."),
            ["Điều 2. Tổ chức thực hiện Giao UBND xã."],
        )
        self.assertEqual(between(paragraphs, "Điều 9.", "Điều 3."), [])


def assignment(role, name, named=True):
    return Assignment(role=role, body=ResponsibleBody(name=name, named_in_text=named))


class InChargeTests(SimpleTestCase):
    def test_the_implementing_body_comes_first_and_supervisors_are_left_out(self):
        found = in_charge(
            [
                assignment(Role.SUPPORTING, "A"),
                assignment(Role.SUPERVISING, "B"),
                assignment(Role.LEAD, "C"),
                assignment(Role.IMPLEMENTING, "D"),
            ]
        )
        self.assertEqual([a.body.name for a in found], ["D", "C", "A"])

    def test_supervisors_named_in_the_text_come_first_once_each(self):
        class Item:
            def __init__(self, *assignments):
                self._assignments = assignments

            @property
            def assignments(self):
                return self

            def all(self):
                return self._assignments

        council = assignment(Role.SUPERVISING, "Thường trực HĐND").body
        delegates = assignment(Role.SUPERVISING, "Đại biểu", named=False).body
        council.pk, delegates.pk = 1, 2  # as stored: bodies are counted once by id
        items = [
            Item(Assignment(role=Role.SUPERVISING, body=delegates)),
            Item(
                Assignment(role=Role.SUPERVISING, body=council),
                Assignment(role=Role.SUPERVISING, body=delegates),
            ),
        ]
        self.assertEqual(supervisors(items), [council, delegates])
