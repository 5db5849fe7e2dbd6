"""The read of an xlsx's values by openpyxl, in a child process with a memory and a
time budget (IMPORT_MAX_MEMORY_BYTES, IMPORT_MAX_SECONDS), after targets.xlsx_checks
has bounded the sheet. Why a child process: see the comment below."""

import datetime
import json
import logging
import subprocess
import sys
import time

from .spreadsheet_limits import (
    TO_EXCEL,
    SpreadsheetRejected,
    max_memory_bytes,
    too_costly,
    too_slow,
)

logger = logging.getLogger(__name__)


# -- xlsx: the read, in a child process with a memory and a time budget ------------
#
# Why a child process. The scan above bounds the sheet (rows, columns and cells as
# read, the declared extent, the inflated size), so the sheet openpyxl is asked for
# is at most IMPORT_MAX_ROWS × MAX_COLUMNS. But openpyxl also parses, in full and in
# memory, parts the scan does not model: styles.xml (measured here: 100,000 cell
# formats, a 6 MB part that zips to a few KB, cost 1.7 s and 74 MB in openpyxl),
# shared strings, defined names, other sheets' headers. Bounding each by hand would
# be a list that is never complete. A child process is bounded by the kernel instead:
# RLIMIT_AS caps its memory (a MemoryError there, not in the web worker) and the
# parent kills it when the request's time budget is spent. The gunicorn gthread
# worker's own timeout is only a heartbeat and never stops a thread that computes,
# and a resource limit set in the worker would apply to every thread of it, so the
# limit has to live in another process. The cost, measured (bench/README.md): about
# 0.1-0.25 s and 26 MB (in the child, not the worker) per file, against 6-8 s for
# importing 10,000 rows. The child is started with exec (subprocess), never a bare
# fork of a threaded worker, and returns JSON, not a pickle: what it sends back was
# computed from a hostile file.
_CHILD_READER = r"""
import datetime, io, json, resource, sys

memory, max_row, max_col = (int(arg) for arg in sys.argv[1:4])
resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


def tag(value):
    for kind in (datetime.datetime, datetime.date, datetime.time):
        if isinstance(value, kind):
            return {kind.__name__: value.isoformat()}
    if isinstance(value, datetime.timedelta):
        return {"timedelta": value.total_seconds()}
    raise TypeError(type(value).__name__)


try:
    import openpyxl

    book = openpyxl.load_workbook(
        io.BytesIO(sys.stdin.buffer.read()), read_only=True, data_only=True
    )
    rows = book.worksheets[0].iter_rows(
        min_row=1, max_row=max_row, max_col=max_col, values_only=True
    )
    out = json.dumps([list(row) for row in rows], default=tag, ensure_ascii=True)
    sys.stdout.write(out)
except MemoryError:
    sys.exit(3)
except Exception as error:
    sys.stderr.write(f"{type(error).__name__}: {str(error)[:300]}")
    sys.exit(2)
"""

_TAGS = {
    "datetime": datetime.datetime.fromisoformat,
    "date": datetime.date.fromisoformat,
    "time": datetime.time.fromisoformat,
    "timedelta": lambda seconds: datetime.timedelta(seconds=seconds),
}


def _untag(item: dict):
    if len(item) == 1:
        ((kind, value),) = item.items()
        if kind in _TAGS:
            return _TAGS[kind](value)
    return item


def read_rows(data: bytes, max_row: int, max_col: int, deadline: float) -> list:
    """The first sheet's values, rows 1..max_row and columns 1..max_col, read by
    openpyxl in a child process within the memory and time budgets."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise too_slow()
    command = [sys.executable, "-I", "-c", _CHILD_READER]
    command += [str(max_memory_bytes()), str(max_row), str(max_col)]
    try:
        done = subprocess.run(
            command, input=data, capture_output=True, timeout=remaining, check=False
        )
    except subprocess.TimeoutExpired:
        raise too_slow() from None
    if done.returncode == 3 or b"MemoryError" in done.stderr:
        raise too_costly()
    if done.returncode != 0:
        logger.warning("xlsx read failed (%s): %s", done.returncode, done.stderr[-500:])
        raise SpreadsheetRejected(
            "Tệp bị hỏng, hệ thống không đọc được số liệu trong đó. " + TO_EXCEL,
            "corrupt",
        )
    return json.loads(done.stdout, object_hook=_untag)
