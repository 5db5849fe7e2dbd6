"""Evidence files attached to figures: checked by content, not by name."""

import zipfile

from django.conf import settings
from django.db import transaction

from .models import Evidence

# What a clerk may attach, recognised by the file's first bytes.
KINDS = {
    "pdf": ("application/pdf", b"%PDF-"),
    "png": ("image/png", b"\x89PNG\r\n\x1a\n"),
    "jpeg": ("image/jpeg", b"\xff\xd8\xff"),
    "xlsx": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        b"PK\x03\x04",
    ),
}
ACCEPT = ".pdf,.png,.jpg,.jpeg,.xlsx"


class EvidenceError(Exception):
    pass


def detect(uploaded) -> str:
    """The content type of an accepted file, or EvidenceError saying why not."""
    head = uploaded.read(16)
    uploaded.seek(0)
    for name, (content_type, magic) in KINDS.items():
        if head.startswith(magic):
            if name == "xlsx" and not _is_xlsx(uploaded):
                break
            return content_type
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


@transaction.atomic
def attach(user, figure, uploaded) -> Evidence:
    limit = settings.EVIDENCE_MAX_BYTES
    if uploaded.size > limit:
        raise EvidenceError(
            f"Tệp quá lớn ({uploaded.size / 1024 / 1024:.1f} MB); "
            f"tối đa {limit // (1024 * 1024)} MB."
        )
    if uploaded.size == 0:
        raise EvidenceError("Tệp rỗng.")
    content_type = detect(uploaded)
    name = (uploaded.name or "minh-chung").replace("/", "_").replace("\\", "_")[-200:]
    item = Evidence(
        figure=figure,
        original_name=name,
        content_type=content_type,
        size=uploaded.size,
        uploaded_by=user,
    )
    item.file.save(name, uploaded, save=False)
    item.save()
    return item
