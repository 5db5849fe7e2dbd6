"""Reading the pages back: a target's row on the dashboard, the chart's data."""

import json
import re
from html import unescape


def target_rows(html: str) -> dict[int, tuple[str, str]]:
    """{target id: (data-status, row html)} of the dashboard's target rows."""
    return {
        int(pk): (status, body)
        for pk, status, body in re.findall(
            r'<tr id="ct-(\d+)" data-status="([a-z_]+)">(.*?)</tr>', html, re.S
        )
    }


def text(html: str) -> str:
    """The visible text, tags dropped, entities decoded, spaces collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def json_script(html: str, element_id: str):
    found = re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S
    )
    return json.loads(found.group(1)) if found else None


def scripts(html: str) -> list[str]:
    """Every <script> opening tag."""
    return re.findall(r"<script\b[^>]*>", html)


def not_reported(html: str) -> dict[str, int]:
    """{body name: targets missing} from the dashboard's "not reported" list."""
    listed = re.search(r'<ul class="small mb-0 not-reported">(.*?)</ul>', html, re.S)
    if not listed:
        return {}
    return {
        unescape(name): int(missing)
        for name, missing in re.findall(
            r"<strong>(.*?)</strong>: chưa gửi số liệu (\d+)/", listed.group(1)
        )
    }
