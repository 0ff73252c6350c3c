"""Goals (Insights → Goals): list with their recent completions, validate, create, edit.

A goal names the telemetry event that completes it and how a completion is valued:
`none`, `fixed` (an amount in the goal's currency) or `property` (the amount in the
named event property, in the event's `currency` property or else the goal's currency).
Goal matching (migration 0006) applies them as events arrive. Names are unique per
tenant, case-insensitively.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from db import schema as s
from db.tenancy import tenant_transaction
from errors import BadGoal, NotFound

RULES = {"none": "No value", "fixed": "A fixed amount", "property": "An event property"}
EVENT_NAME = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,99}$")
PROPERTY = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_NAME = 100
MAX_FIXED = Decimal("999999999999.99")
RECENT_DAYS = 30


@dataclass(frozen=True)
class Goal:
    id: int | None
    name: str
    event_name: str
    active: bool
    value_rule: str
    fixed_value: Decimal | None
    value_property: str | None
    default_currency: str
    completions: int = 0  # in the last RECENT_DAYS days
    last_completed_at: dt.datetime | None = None

    def value_text(self) -> str:
        match self.value_rule:
            case "fixed":
                return f"{self.fixed_value:,.2f} {self.default_currency} each"
            case "property":
                return f"From property “{self.value_property}” (else {self.default_currency})"
            case _:
                return "No value"


def parse_goal(raw: Any, goal_id: int | None = None) -> Goal:
    """The goal in `raw` (form or JSON fields), or BadGoal naming each bad field."""
    if goal_id is not None and (type(goal_id) is not int or not 0 < goal_id < 2**63):
        raise NotFound("There is no such goal.")
    if not isinstance(raw, dict):
        raise BadGoal([("(goal)", "an object with name, event_name and value_rule")])
    issues: list[tuple[str, str]] = []
    name = " ".join(str(raw.get("name") or "").split())
    if not name or len(name) > MAX_NAME:
        issues.append(("name", f"a name of 1 to {MAX_NAME} characters"))
    event = str(raw.get("event_name") or "").strip()
    if not EVENT_NAME.match(event):
        issues.append(("event_name", "the event's name: lower-case letters, digits and _ . : -"))
    rule = raw.get("value_rule")
    if not isinstance(rule, str) or rule not in RULES:
        issues.append(("value_rule", "none, fixed or property"))
    currency = str(raw.get("default_currency") or "").strip().upper()
    if not CURRENCY.match(currency):
        issues.append(("default_currency", "a three-letter currency code (ISO 4217)"))
    fixed = None
    if rule == "fixed":
        try:
            fixed = Decimal(str(raw.get("fixed_value")).strip())
            if not (0 < fixed <= MAX_FIXED) or fixed != fixed.quantize(Decimal("0.01")):
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            issues.append(("fixed_value", "an amount above 0 with at most two decimals"))
    prop = str(raw.get("value_property") or "").strip() if rule == "property" else None
    if rule == "property" and not PROPERTY.match(prop or ""):
        issues.append(("value_property", "the event property holding the amount"))
    active = raw.get("active", True)
    if not isinstance(active, bool):
        issues.append(("active", "true or false"))
    if issues:
        raise BadGoal(issues)
    return Goal(goal_id, name, event, active, str(rule), fixed, prop, currency)


def list_goals(web: Engine, *, tenant_id: int, today: dt.date | None = None) -> list[Goal]:
    """The tenant's goals by name, with completions of the last RECENT_DAYS UTC days."""
    today = today or dt.datetime.now(dt.UTC).date()
    since = dt.datetime.combine(today - dt.timedelta(days=RECENT_DAYS - 1), dt.time(), dt.UTC)
    g, c = s.goals, s.goal_completions
    last = sa.func.max(c.c.completed_at).label("at")
    recent = (
        sa.select(c.c.goal_id, sa.func.count().label("n"), last)
        .where(c.c.completed_at >= since)
        .group_by(c.c.goal_id)
        .subquery()
    )
    query = (
        sa.select(g.c.id, g.c.name, g.c.event_name, g.c.active, g.c.value_rule, g.c.fixed_value,
                  g.c.value_property, g.c.default_currency,
                  sa.func.coalesce(recent.c.n, 0), recent.c.at)
        .outerjoin(recent, recent.c.goal_id == g.c.id)
        .order_by(sa.func.lower(g.c.name))
    )  # fmt: skip
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        return [Goal(*row) for row in conn.execute(query)]


def save_goal(web: Engine, *, tenant_id: int, goal: Goal) -> int:
    """Creates the goal (id None) or updates it; returns its id."""
    g = s.goals
    values = {"name": goal.name, "event_name": goal.event_name, "active": goal.active,
              "value_rule": goal.value_rule, "fixed_value": goal.fixed_value,
              "value_property": goal.value_property,
              "default_currency": goal.default_currency}  # fmt: skip
    try:
        with tenant_transaction(web, tenant_id=tenant_id) as conn:
            if goal.id is None:
                return conn.scalar(
                    sa.insert(g).values(tenant_id=tenant_id, **values).returning(g.c.id)
                )
            saved = conn.scalar(
                sa.update(g).where(g.c.id == goal.id).values(**values).returning(g.c.id)
            )
    except IntegrityError as exc:
        if "ins_goals_tenant_name" in str(exc.orig):
            raise BadGoal([("name", f"a goal named “{goal.name}” already exists")]) from None
        raise
    if saved is None:
        raise NotFound("There is no such goal.")
    return saved
