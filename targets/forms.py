"""Reading the entry page's POST data into plain rows, with Vietnamese errors.

The entry page is one HTML form with a row per target and per task (no JavaScript
needed): fields `v-<target id>` (value), `k-` (kind), `n-` (note), `ver-` (the version
the clerk started from, 0 for a new figure), `c-` (the clerk confirms a flagged
value), the file input `e-` (evidence attached in the same save, multipart) and
`rm-<evidence id>` (remove an evidence file); for tasks `ts-<task id>` (status),
`tn-` (narrative), `tver-`. `plan` carries the fingerprint of what the submit
confirmation listed.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from .models import FigureKind, TaskStatus, Verdict
from .numbers import parse_decimal

MAX_NOTE = 2000
FIELD = re.compile(r"^(v|k|n|ver|c|e|rm|ts|tn|tver)-(\d+)$")
FILE_FIELD = re.compile(r"^e-(\d+)$")


class BadPost(Exception):
    """A POST that no page of ours could have sent: foreign ids, unknown fields."""


@dataclass
class FigureRow:
    target_id: int
    raw_value: str
    value: Decimal | None
    kind: str
    note: str
    version: int
    errors: list[str] = field(default_factory=list)
    # Errors that belong to another control than the number: the explanation box,
    # the confirmation of a flagged value, the evidence file.
    note_errors: list[str] = field(default_factory=list)
    confirm_errors: list[str] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)

    @property
    def all_errors(self) -> list[str]:
        return [
            *self.errors,
            *self.note_errors,
            *self.confirm_errors,
            *self.file_errors,
        ]


@dataclass
class TaskEntry:
    task_id: int
    status: str
    narrative: str
    version: int
    errors: list[str] = field(default_factory=list)

    @property
    def all_errors(self) -> list[str]:
        return self.errors


def _version(raw: str | None) -> int:
    if raw is None or not raw.isdigit() or len(raw) > 9:
        raise BadPost("version")
    return int(raw)


def read_entry(post, targets: dict, tasks: dict) -> tuple[list, list]:
    """The rows of an entry POST. `targets` and `tasks` map the ids the user may edit
    to their objects; any other id, or a field we never render, raises BadPost."""
    target_ids, task_ids = set(), set()
    for name in post:
        if name in ("csrfmiddlewaretoken", "action", "plan"):
            continue
        match = FIELD.match(name)
        if not match:
            raise BadPost(name)
        prefix, pk = match.group(1), int(match.group(2))
        if prefix == "rm":
            continue  # evidence ids: read_removals, checked by the service
        if prefix in ("c", "e"):
            # A confirmation; or a file input left empty, which a browser sends as
            # an empty field (a chosen file arrives in request.FILES).
            if pk not in targets:
                raise BadPost(name)
            continue
        if prefix in ("v", "k", "n", "ver"):
            if pk not in targets:
                raise BadPost(name)
            target_ids.add(pk)
        else:
            if pk not in tasks:
                raise BadPost(name)
            task_ids.add(pk)

    figure_rows = []
    for pk in sorted(target_ids):
        target = targets[pk]
        raw = (post.get(f"v-{pk}") or "").strip()
        kind = post.get(f"k-{pk}", FigureKind.ACTUAL)
        note = (post.get(f"n-{pk}") or "").strip()
        row = FigureRow(pk, raw, None, kind, note, _version(post.get(f"ver-{pk}")))
        if kind not in FigureKind.values:
            raise BadPost(f"k-{pk}")
        if raw:
            try:
                row.value = parse_decimal(
                    raw,
                    decimal_places=target.decimal_places,
                    allow_negative=target.allows_negative,
                    min_value=target.min_value,
                    max_value=target.max_value,
                )
            except ValidationError as exc:
                row.errors.extend(exc.messages)
        if len(note) > MAX_NOTE:
            row.errors.append(f"Ghi chú dài quá {MAX_NOTE} ký tự; vui lòng rút gọn.")
        figure_rows.append(row)

    task_rows = []
    for pk in sorted(task_ids):
        status = post.get(f"ts-{pk}", "")
        narrative = (post.get(f"tn-{pk}") or "").strip()
        if status and status not in TaskStatus.values:
            raise BadPost(f"ts-{pk}")
        row = TaskEntry(pk, status, narrative, _version(post.get(f"tver-{pk}")))
        if len(narrative) > MAX_NOTE:
            row.errors.append(f"Nội dung dài quá {MAX_NOTE} ký tự; vui lòng rút gọn.")
        task_rows.append(row)
    return figure_rows, task_rows


def read_confirmations(data, targets: dict) -> set[int]:
    """The target ids whose flagged value the clerk confirmed (`c-<id>` ticked), from
    a POST or from the confirmation link's query string (`c=<id>`)."""
    chosen = set()
    for name in data:
        match = FIELD.match(name)
        if match and match.group(1) == "c" and int(match.group(2)) in targets:
            chosen.add(int(match.group(2)))
    for raw in data.getlist("c") if hasattr(data, "getlist") else ():
        if raw.isdigit() and len(raw) <= 12 and int(raw) in targets:
            chosen.add(int(raw))
    return chosen


def read_removals(post) -> set[int]:
    """Evidence ids ticked for removal (`rm-<id>`)."""
    return {
        int(m.group(2))
        for m in map(FIELD.match, post)
        if m and m.group(1) == "rm" and len(m.group(2)) <= 12
    }


def read_files(files, targets: dict) -> dict:
    """{target id: uploaded file} from the entry form's `e-<target id>` inputs."""
    chosen = {}
    for name in files:
        match = FILE_FIELD.match(name)
        if not match or int(match.group(1)) not in targets:
            raise BadPost(name)
        chosen[int(match.group(1))] = files[name]
    return chosen


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Lý do",
        max_length=MAX_NOTE,
        strip=True,
        error_messages={"required": "Phải nêu lý do.", "max_length": "Lý do quá dài."},
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class AssessmentForm(ReasonForm):
    verdict = forms.ChoiceField(
        label="Đánh giá của người phê duyệt",
        choices=Verdict.choices,
        error_messages={
            "required": "Chọn đánh giá.",
            "invalid_choice": "Đánh giá không hợp lệ.",
        },
    )


class EvidenceForm(forms.Form):
    file = forms.FileField(
        label="Tệp minh chứng (PDF, ảnh PNG/JPEG, Excel .xlsx)",
        error_messages={
            "required": "Chưa chọn tệp.",
            "empty": "Tệp rỗng.",
            "invalid": "Tệp không hợp lệ.",
        },
    )
