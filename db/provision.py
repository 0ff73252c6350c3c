"""Default goals and a starter set of saved and pinned reports for a tenant, in one
idempotent step: `python -m db provision-defaults --tenant SLUG` (the platform's
`insights:provision-defaults`).

Running it again creates only what is missing, matched by name: a goal or report the
tenant renamed or deleted is created again, one they kept is left as it is, and a
starter report is pinned only when this step creates it (an un-pinned card stays off
the dashboard).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine

from datasets.templates import TEMPLATES
from db import schema as s
from db.pins import append_card
from db.tenancy import tenant_transaction

# (name, telemetry event, active, value rule, fixed value, value property, currency;
# None means the tenant's currency).
DEFAULT_GOALS: tuple[tuple[str, str, bool, str, float | None, str | None, str | None], ...] = (
    ("Order placed", "order_placed", True, "property", None, "amount", None),
    ("Appointment booked", "appointment_booked", True, "fixed", 25.0, None, "USD"),
    ("Lead qualified", "lead_qualified", True, "fixed", 10.0, None, None),
    ("Newsletter signup", "newsletter_signup", True, "none", None, None, None),
)
# (template id, dashboard span or None for not pinned), in dashboard order.
STARTER_REPORTS: tuple[tuple[str, int | None], ...] = (
    ("conversions_overview", 8),
    ("chat_engagement", 4),
    ("flow_success", 12),
    ("revenue_by_goal", None),
)


@dataclass
class Provisioned:
    goals: list[str] = field(default_factory=list)
    reports: list[str] = field(default_factory=list)
    pinned: list[str] = field(default_factory=list)


def provision_defaults(cron: Engine, *, tenant_id: int, currency: str = "USD") -> Provisioned:
    """Creates the missing default goals and starter reports of the tenant."""
    done = Provisioned()
    templates = {t.id: t for t in TEMPLATES}
    goals, reports = s.goals, s.reports
    with tenant_transaction(cron, tenant_id=tenant_id) as conn:
        for name, event, active, rule, fixed, prop, goal_currency in DEFAULT_GOALS:
            created = conn.scalar(
                insert(goals)
                .values(tenant_id=tenant_id, name=name, event_name=event, active=active,
                        value_rule=rule, fixed_value=fixed, value_property=prop,
                        default_currency=goal_currency or currency)
                .on_conflict_do_nothing()
                .returning(goals.c.id)
            )  # fmt: skip
            if created is not None:
                done.goals.append(name)
        for template_id, span in STARTER_REPORTS:
            template = templates[template_id]
            report_id = conn.scalar(
                insert(reports)
                .values(tenant_id=tenant_id, name=template.name,
                        description=template.description, definition=template.definition)
                .on_conflict_do_nothing()
                .returning(reports.c.id)
            )  # fmt: skip
            if report_id is None:
                continue
            done.reports.append(template.name)
            if span is not None:
                append_card(conn, tenant_id=tenant_id, report_id=report_id, span=span)
                done.pinned.append(template.name)
    return done
