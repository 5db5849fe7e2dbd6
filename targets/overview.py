"""The resolution as adopted, read for its overview page: indicators and targets by
area, section 3 in the text's order, who carries out each item, and the adopted
text's paragraphs (Mục tiêu chung, Articles 2–3). Four queries whatever the size."""

import re

from django.db.models import Prefetch

from .models import Area, Assignment, Role, Target, TaskKind

# Who carries out an item, the implementing committee first; supervisors are listed
# once, under Article 2.
IN_CHARGE = {Role.IMPLEMENTING: 0, Role.LEAD: 1, Role.SUPPORTING: 2}


def overview(resolution) -> dict:
    """The overview page's context for `resolution` (without the picker)."""
    bodies = Prefetch(
        "assignments",
        queryset=Assignment.objects.select_related("body").order_by("body__name"),
    )
    indicators = resolution.indicators.prefetch_related(
        Prefetch(
            "targets",
            queryset=Target.objects.order_by("order", "code").prefetch_related(bodies),
        )
    )
    # Section 3 as the text orders it: the one Nhiệm vụ paragraph, then Giải pháp.
    tasks = sorted(
        resolution.tasks.prefetch_related(bodies),
        key=lambda t: (t.kind != TaskKind.TASK, t.number),
    )
    targets = [t for i in indicators for t in i.targets.all()]
    for item in targets + tasks:
        item.in_charge = in_charge(item.assignments.all())
    paragraphs = text_paragraphs(resolution.source_text)
    return {
        "resolution": resolution,
        "areas": [
            (label, [i for i in indicators if i.area == value])
            for value, label in Area.choices
        ],
        "indicator_count": len(indicators),
        "target_count": len(targets),
        "tasks": tasks,
        "legal_bases": [
            line
            for line in (
                resolution.legal_bases + "\n" + resolution.considered
            ).splitlines()
            if line.strip()
        ],
        "general_objective": between(
            paragraphs, "1. Mục tiêu chung", "2. Mục tiêu cụ thể"
        )[1:],
        "article_2": between(paragraphs, "Điều 2.", "Điều 3."),
        "article_3": between(paragraphs, "Điều 3.", "Nơi nhận"),
        "supervisors": supervisors(targets + tasks),
    }


def in_charge(assignments) -> list[Assignment]:
    found = [a for a in assignments if a.role in IN_CHARGE]
    return sorted(found, key=lambda a: (IN_CHARGE[a.role], a.body.name))


def supervisors(items) -> list:
    """The bodies supervising any of the items, those the text names first."""
    found = {
        a.body
        for item in items
        for a in item.assignments.all()
        if a.role == Role.SUPERVISING
    }
    return sorted(found, key=lambda b: (not b.named_in_text, b.name))


def text_paragraphs(text: str) -> list[str]:
    """Paragraphs of the adopted text, a paragraph split by a page break joined
    again (the second half starts in lower case)."""
    paragraphs: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        block = " ".join(block.split())
        if not block:
            continue
        if paragraphs and block[0].islower():
            paragraphs[-1] += " " + block
        else:
            paragraphs.append(block)
    return paragraphs


def between(paragraphs: list[str], first: str, stop: str) -> list[str]:
    """The paragraphs from the one starting with `first` to before `stop`."""
    out: list[str] = []
    for paragraph in paragraphs:
        if out and paragraph.startswith(stop):
            break
        if out or paragraph.startswith(first):
            out.append(paragraph)
    return out
