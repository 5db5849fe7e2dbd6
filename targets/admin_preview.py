"""What the admin's import preview shows of an office sheet's reading
(targets.sheets), the choices the administrator makes there, and the figures
template the upload page offers."""

from django.http import HttpResponse
from django.utils.html import format_html, format_html_join

from .models import Resolution
from .numbers import format_decimal
from .sheet_template import figure_template
from .spreadsheets import SafeXLSX


def import_choices(post) -> dict:
    """The administrator's choices in the preview form: a column's meaning
    ("col:E"), a row's target ("row:7"), the resolution. Bounded: a form field
    never holds a long text, and a few hundred choices are plenty."""
    choices = {}
    for key in list(post.keys())[:2000]:
        if key.startswith(("col:", "row:")) or key in (
            "resolution",
            "submit",
            "confirm",
        ):
            value = post.get(key, "")[:40]
            if value and len(key) <= 20:
                choices[key] = value
    return choices


def _select(name: str, options, current: str, blank: str | None = None):
    items = [("", blank)] if blank is not None else []
    items += list(options)
    return format_html(
        '<select name="{}">{}</select>',
        name,
        format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((v, " selected" if v == current else "", label) for v, label in items),
        ),
    )


def proposal_view(proposal, choices: dict) -> dict:
    """What the preview shows of the office-layout reading (targets.sheets)."""
    column_options = proposal.column_options
    columns = [
        {
            "letter": c.letter,
            "header": c.header,
            "meaning": c.meaning,
            "ask": c in proposal.column_choices,
            "select": _select(
                f"col:{c.letter}",
                column_options,
                choices.get(f"col:{c.letter}", ""),
                blank="(giữ như trên)",
            ),
        }
        for c in proposal.columns
        if c.header or c.role != "ignore"
    ]
    target_options = [("skip", "Bỏ qua dòng này")] + [
        (str(t.pk), f"{t.code} – {t.name[:70]} ({t.unit})")
        for t in proposal.target_choices
    ]
    rows = []
    for m in proposal.matches:
        picked = choices.get(f"row:{m.row}", "")
        if not picked and m.needs_choice and m.candidates:
            picked = str(m.candidates[0].pk)
        rows.append(
            {
                "row": m.row,
                "name": m.name,
                "code": m.code,
                "unit": m.unit,
                "plan": m.plan,
                "target": m.target,
                "stored_plan": m.target and format_decimal(m.target.target_value),
                "how": m.how,
                "values": m.values,
                "ask": m.needs_choice,
                "select": _select(
                    f"row:{m.row}",
                    target_options,
                    picked,
                    blank=None if m.needs_choice else "(giữ như hệ thống khớp)",
                ),
            }
        )
    resolution_select = None
    if proposal.resolutions and (
        proposal.resolution is None or len(proposal.resolutions) > 1
    ):
        resolution_select = _select(
            "resolution",
            [
                (str(r.pk), f"Nghị quyết {r.number} ({r.plan_year})")
                for r in proposal.resolutions
            ],
            str(proposal.resolution.pk) if proposal.resolution else "",
            blank="(chọn nghị quyết)",
        )
    return {
        "p": proposal,
        "columns": columns,
        "rows": rows,
        "resolution_select": resolution_select,
        "asks": proposal.needs_choice or bool(proposal.problems),
    }


def figure_template_response(request):
    """The figures template: the council report layout pre-filled with the
    resolution's targets, the period in the title, a drop-down for the kind."""
    resolution = (
        Resolution.objects.filter(pk=request.GET.get("resolution") or None).first()
        if str(request.GET.get("resolution", "")).isdigit()
        else None
    )
    data, name = figure_template(resolution)
    response = HttpResponse(data, content_type=SafeXLSX.CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
