"""Evidence files attached to figures: checked by content, not by name."""

import logging
import zipfile
from pathlib import PurePath

from django.conf import settings
from django.db import transaction

from .fields import clean_text
from .models import Evidence, WorkflowState
from .numbers import too_big_text

# What a clerk may attach, recognised by the file's first bytes; the key is the
# extension the stored name gets, whatever the uploaded name said.
KINDS = {
    "pdf": ("application/pdf", b"%PDF-"),
    "png": ("image/png", b"\x89PNG\r\n\x1a\n"),
    "jpg": ("image/jpeg", b"\xff\xd8\xff"),
    "xlsx": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        b"PK\x03\x04",
    ),
}
ACCEPT = ".pdf,.png,.jpg,.jpeg,.xlsx"

audit = logging.getLogger("khoenon.audit")


class EvidenceError(Exception):
    pass


def detect(uploaded) -> str:
    """The kind (a key of KINDS) of an accepted file, or EvidenceError saying why
    not."""
    head = uploaded.read(16)
    uploaded.seek(0)
    for name, (_content_type, magic) in KINDS.items():
        if head.startswith(magic):
            if name == "xlsx" and not _is_xlsx(uploaded):
                break
            return name
    raise EvidenceError(
        "Chỉ nhận tệp PDF, ảnh PNG hoặc JPEG, hoặc bảng tính Excel .xlsx "
        "(tệp .xlsm có macro không được nhận)."
    )


def _is_xlsx(uploaded) -> bool:
    try:
        with zipfile.ZipFile(uploaded) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        return False
    finally:
        uploaded.seek(0)
    return (
        "[Content_Types].xml" in names
        and "xl/workbook.xml" in names
        and "xl/vbaProject.bin" not in names
    )


def download_name(uploaded_name: str | None, kind: str) -> str:
    """The name the file is offered under: the uploaded one with the extension of
    what the file really is ("bao-cao.html" holding a PDF is "bao-cao.pdf"), so no
    browser opens it as something else."""
    base = PurePath((uploaded_name or "").replace("\\", "/")).name
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = clean_text(stem, multiline=False) if stem.isprintable() else ""
    return f"{(stem or 'minh-chung')[:190]}.{kind}"


def check(uploaded) -> str:
    """The kind of an acceptable upload, or EvidenceError saying why not: size first
    (cheap), then content. Nothing is stored."""
    limit = settings.EVIDENCE_MAX_BYTES
    if uploaded.size > limit:
        raise EvidenceError(
            f"{too_big_text(uploaded.size, limit)}. Hãy nén hoặc chụp lại với độ "
            "phân giải thấp hơn rồi tải lên lại."
        )
    if uploaded.size == 0:
        raise EvidenceError("Tệp rỗng.")
    return detect(uploaded)


def removable(figure, period_open: bool) -> bool:
    """Evidence can be removed, like the figure edited, until it is sent: while the
    figure is a draft or returned and the period is open for entry."""
    return period_open and figure.state in (
        WorkflowState.DRAFT,
        WorkflowState.RETURNED,
    )


def remove(user, item: Evidence) -> None:
    """Delete an evidence file (the caller has checked `removable`). The row goes in
    the caller's transaction; the stored file once that transaction commits, so a
    refused save keeps it."""
    stored = item.file.name
    storage = item.file.storage
    item.delete()
    audit.info(
        "evidence_remove user=%s figure=%s name=%s",
        user.username,
        item.figure_id,
        item.original_name,
    )
    transaction.on_commit(lambda: storage.delete(stored))


@transaction.atomic
def attach(user, figure, uploaded) -> Evidence:
    kind = check(uploaded)
    item = Evidence(
        figure=figure,
        original_name=download_name(uploaded.name, kind),
        content_type=KINDS[kind][0],
        size=uploaded.size,
        uploaded_by=user,
    )
    item.file.save(item.original_name, uploaded, save=False)
    item.save()
    return item
