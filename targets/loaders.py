"""Loading a resolution from its fixture file, and the demo accounts and figures.

Both are idempotent: a reload writes only what differs (and so records no history
when nothing changed)."""

import datetime
import json
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from .models import (
    ROLE_GROUPS,
    Assignment,
    Commune,
    Figure,
    FigureKind,
    Indicator,
    PeriodState,
    ReportingPeriod,
    Resolution,
    ResponsibleBody,
    Target,
    Task,
    decree_09_window,
)
from .periods import period_publish

# The adopted resolution and the demo: what `make run`, the load commands and the
# tests load.
FIXTURES = Path(settings.BASE_DIR) / "fixtures"
RESOLUTION_FILE = FIXTURES / "resolution-13-NQ-HDND-2025.json"
DEMO_FILE = FIXTURES / "demo-2025.json"

# Days after the end of a quarter's data window (the 14th) that entry stays open by
# default: the 20th of the quarter's last month.
DEFAULT_DEADLINE_DAYS = 6


def _sync(model, lookup: dict, values: dict):
    """Create the row, or update it only where a value differs: re-running a load writes
    nothing (and records no history) when the data has not changed."""
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        obj = model(**lookup, **values)
        obj.full_clean()
        obj.save()
        return obj, True
    changed = [k for k, v in values.items() if getattr(obj, k) != v]
    if changed:
        for k in changed:
            setattr(obj, k, values[k])
        obj.full_clean()
        obj.save(update_fields=changed)
    return obj, False


def period_ensure(commune: Commune, year: int, quarter: int) -> ReportingPeriod:
    """The commune's calendar quarter, created with the Decree 09 data window if
    missing. An existing period keeps its state and deadline."""
    data_from, data_to = decree_09_window(year, quarter)
    period, _ = ReportingPeriod.objects.get_or_create(
        commune=commune,
        year=year,
        quarter=quarter,
        defaults={
            "data_from": data_from,
            "data_to": data_to,
            "deadline": data_to + datetime.timedelta(days=DEFAULT_DEADLINE_DAYS),
        },
    )
    return period


def _decimal_or_none(text: str | None) -> Decimal | None:
    return Decimal(text) if text not in (None, "") else None


def _places_written(text: str) -> int:
    """Decimals as the fixture writes a number: "32.0" → 1, "85" → 0."""
    exponent = Decimal(text).as_tuple().exponent
    return max(0, -exponent)


@transaction.atomic
def resolution_load(path: Path) -> Resolution:
    """Load (or reload) a resolution from its fixture file, by natural keys.

    The fixture is the adopted text: reloading restores every target to it."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    commune, _ = Commune.objects.get_or_create(**data["commune"])

    bodies = {}
    for row in data["bodies"]:
        lookup = {"commune": commune, "name": row["name"]}
        values = {k: v for k, v in row.items() if k != "name"}
        bodies[row["name"]], _ = _sync(ResponsibleBody, lookup, values)

    for row in data["periods"]:
        period_ensure(commune, row["year"], row["quarter"])

    res = dict(data["resolution"])
    source_file = res.pop("source_text_file", None)
    res["source_text"] = (
        (Path(path).parent / source_file).read_text(encoding="utf-8")
        if source_file
        else ""
    )
    res["legal_bases"] = "\n".join(res["legal_bases"])
    res["considered"] = "\n".join(res["considered"])
    for key in ("adopted_on", "effective_on", "covers_from", "covers_to"):
        res[key] = datetime.date.fromisoformat(res[key])
    resolution, _ = _sync(
        Resolution,
        {"commune": commune, "number": res.pop("number")},
        res,
    )

    targets = {}
    for ind_row in data["indicators"]:
        indicator, _ = _sync(
            Indicator,
            {"resolution": resolution, "number": ind_row["number"]},
            {"area": ind_row["area"], "text": ind_row["text"]},
        )
        for order, t in enumerate(ind_row["targets"], start=1):
            values = {
                "order": order,
                "name": t["name"],
                "unit": t["unit"],
                "target_value": Decimal(t["target_value"]),
                "comparison": t["comparison"],
                "combine": t["combine"],
                "path": t["path"],
                "clause": t["clause"],
                "reading_note": t.get("reading_note", ""),
                "allows_negative": t.get("allows_negative", False),
                "decimal_places": t.get("decimal_places", 2),
                "plan_decimal_places": _places_written(t["target_value"]),
                "min_value": _decimal_or_none(t.get("min_value")),
                "max_value": _decimal_or_none(t.get("max_value")),
                "baseline": Decimal(t["baseline"]) if t.get("baseline") else None,
                "window_start_year": t.get("window_start_year", resolution.plan_year),
                "window_start_quarter": t.get("window_start_quarter", 1),
                "window_end_year": t.get("window_end_year", resolution.plan_year),
                "window_end_quarter": t.get("window_end_quarter", 4),
            }
            targets[t["code"]], _ = _sync(
                Target, {"indicator": indicator, "code": t["code"]}, values
            )

    tasks = {}
    for row in data["tasks"]:
        tasks[(row["kind"], row["number"])], _ = _sync(
            Task,
            {"resolution": resolution, "kind": row["kind"], "number": row["number"]},
            {"text": row["text"]},
        )

    for row in data["assignments"]:
        lookup = {"body": bodies[row["body"]]}
        if "target" in row:
            lookup["target"] = targets[row["target"]]
        else:
            lookup["task"] = tasks[tuple(row["task"])]
        _sync(
            Assignment,
            lookup,
            {
                "role": row["role"],
                "is_assumption": row["is_assumption"],
                "note": row["note"],
            },
        )
    _article_2_load(
        data.get("article_2", ()), bodies, [*targets.values()], [*tasks.values()]
    )
    return resolution


def _article_2_load(rows, bodies: dict, targets: list, tasks: list) -> None:
    """Article 2 of a resolution: the bodies it charges with implementing (UBND xã)
    and supervising (the council's standing committee, its committees, delegates)
    the whole resolution, so an assignment to every target and every task. One query
    reads what exists; only what is missing or differs is written (a reload writes
    nothing)."""
    if not rows:
        return
    chosen = [bodies[row["body"]] for row in rows]
    existing = {
        (a.body_id, a.target_id, a.task_id): a
        for a in Assignment.objects.filter(body__in=chosen).filter(
            Q(target__in=targets) | Q(task__in=tasks)
        )
    }
    new = []
    for row, body in zip(rows, chosen, strict=True):
        values = {
            "role": row["role"],
            "is_assumption": row["is_assumption"],
            "note": row["note"],
        }
        subjects = [{"target": t} for t in targets] + [{"task": t} for t in tasks]
        for subject in subjects:
            target, task = subject.get("target"), subject.get("task")
            key = (body.pk, target and target.pk, task and task.pk)
            found = existing.get(key)
            if found is None:
                assignment = Assignment(body=body, **subject, **values)
                # Field rules here; the database's constraints hold the rest.
                assignment.full_clean(validate_unique=False, validate_constraints=False)
                new.append(assignment)
                continue
            changed = [k for k, v in values.items() if getattr(found, k) != v]
            if changed:
                for k in changed:
                    setattr(found, k, values[k])
                found.full_clean(validate_unique=False, validate_constraints=False)
                found.save(update_fields=changed)
    Assignment.objects.bulk_create(new)


@transaction.atomic
def demo_load(path: Path, today: datetime.date) -> None:
    """Demo accounts and demo figures (marked is_demo), for trying the portal.

    Never run in production: the accounts share a published password."""
    from django.contrib.auth.models import Group, User

    data = json.loads(Path(path).read_text(encoding="utf-8"))
    resolution = Resolution.objects.select_related("commune").get(
        number=data["resolution"]
    )
    commune = resolution.commune
    bodies = {b.name: b for b in commune.bodies.all()}
    # The migration creates the role groups; a flushed test database has none.
    groups = {name: Group.objects.get_or_create(name=name)[0] for name in ROLE_GROUPS}

    for row in data["users"]:
        user, created = User.objects.get_or_create(
            username=row["username"],
            defaults={"first_name": row["first_name"], "last_name": row["last_name"]},
        )
        if created or not user.check_password(data["password"]):
            user.set_password(data["password"])
        superuser = row.get("superuser", False)
        user.is_staff = user.is_superuser = superuser
        # So that `send_reminders` has someone to write to under `make run`.
        user.email = f"{row['username']}@{data['email_domain']}"
        user.save()
        user.groups.set([groups[row["group"]]])
        for name in row.get("bodies", []):
            bodies[name].members.add(user)

    periods = {}
    for year, quarter in data["closed_periods"] + [data["open_period"]]:
        periods[(year, quarter)] = period_ensure(commune, year, quarter)
    for key in data["closed_periods"]:
        _sync(
            ReportingPeriod,
            {"pk": periods[tuple(key)].pk},
            {"state": PeriodState.CLOSED},
        )
    _sync(
        ReportingPeriod,
        {"pk": periods[tuple(data["open_period"])].pk},
        {
            "state": PeriodState.OPEN,
            "deadline": today + datetime.timedelta(days=data["open_period_days"]),
        },
    )

    targets = {
        t.code: t
        for t in Target.objects.filter(indicator__resolution=resolution).select_related(
            "indicator__resolution"
        )
    }
    for row in data["figures"]:
        _sync(
            Figure,
            {
                "target": targets[row["target"]],
                "period": periods[(row["year"], row["quarter"])],
            },
            {
                "value": Decimal(row["value"]),
                "kind": row.get("kind", FigureKind.ACTUAL),
                "state": row["state"],
                "note": row.get("note", ""),
                "is_demo": True,
            },
        )
    # Công bố: the closed quarters listed, in order; a reload keeps the first date.
    published = {tuple(key) for key in data.get("published_periods", [])}
    for key in sorted(published):
        period = ReportingPeriod.objects.get(pk=periods[key].pk)
        if period.published_at is None:
            period_publish(user=None, period=period)
