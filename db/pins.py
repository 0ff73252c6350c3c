"""The tenant's dashboard grid of pinned reports (ins_dashboard_pins): pin, un-pin, layout.

Each pinned report is a card with an order (`position`, 0-based, no gaps after a layout
save) and a width (`span`) of 4, 6, 8 or 12 of the grid's 12 columns. Saving a layout
gives the order and spans of the cards that stay; a pinned report left out of it is
un-pinned (dragging a card off the grid).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine

from db import schema as s
from db.tenancy import tenant_transaction
from errors import BadLayout, NotFound

SPANS = (4, 6, 8, 12)
DEFAULT_SPAN = 6


@dataclass(frozen=True)
class Card:
    report_id: int
    position: int
    span: int
    name: str
    definition: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"report_id": self.report_id, "position": self.position, "span": self.span,
                "name": self.name}  # fmt: skip


def list_cards(web: Engine, *, tenant_id: int) -> list[Card]:
    p, r = s.dashboard_pins, s.reports
    query = (
        sa.select(p.c.report_id, p.c.position, p.c.span, r.c.name, r.c.definition)
        .join(r, sa.and_(r.c.tenant_id == p.c.tenant_id, r.c.id == p.c.report_id))
        .order_by(p.c.position, p.c.pinned_at, p.c.report_id)
    )
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        return [Card(**row._mapping) for row in conn.execute(query)]


def is_pinned(web: Engine, *, tenant_id: int, report_id: int) -> bool:
    p = s.dashboard_pins
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        return bool(conn.scalar(sa.select(sa.exists().where(p.c.report_id == report_id))))


def pin(web: Engine, *, tenant_id: int, report_id: int, span: int = DEFAULT_SPAN) -> None:
    """Adds the report at the end of the grid; pinning a pinned report changes nothing."""
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        if not conn.scalar(sa.select(sa.exists().where(s.reports.c.id == report_id))):
            raise NotFound("There is no such report.")
        append_card(conn, tenant_id=tenant_id, report_id=report_id, span=span)


def append_card(conn: sa.Connection, *, tenant_id: int, report_id: int, span: int) -> None:
    """Pins the report as the grid's last card, in the caller's tenant transaction."""
    p = s.dashboard_pins
    last = (
        sa.select(sa.func.coalesce(sa.func.max(p.c.position) + 1, 0))
        .where(p.c.tenant_id == tenant_id)
        .scalar_subquery()
    )
    conn.execute(
        insert(p)
        .values(tenant_id=tenant_id, report_id=report_id, position=last, span=span)
        .on_conflict_do_nothing(index_elements=[p.c.tenant_id, p.c.report_id])
    )


def unpin(web: Engine, *, tenant_id: int, report_id: int) -> bool:
    p = s.dashboard_pins
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        return conn.execute(sa.delete(p).where(p.c.report_id == report_id)).rowcount > 0


def parse_layout(raw: Any) -> list[tuple[int, int]]:
    """[(report_id, span)] in grid order from {"cards": [{"report_id", "span"}, …]}, or
    BadLayout naming each bad field by its JSON path."""
    if not isinstance(raw, dict) or not isinstance(raw.get("cards"), list):
        raise BadLayout([("cards", "a list of {report_id, span} in grid order")])
    issues: list[tuple[str, str]] = []
    cards: list[tuple[int, int]] = []
    for i, card in enumerate(raw["cards"]):
        where = f"cards[{i}]"
        if not isinstance(card, dict) or set(card) - {"report_id", "span"}:
            issues.append((where, "an object with report_id and span only"))
            continue
        report_id, span = card.get("report_id"), card.get("span", DEFAULT_SPAN)
        if type(report_id) is not int:
            issues.append((f"{where}.report_id", "a report id (integer)"))
        if span not in SPANS or type(span) is not int:
            issues.append((f"{where}.span", "one of 4, 6, 8 or 12 columns"))
        if not issues:
            cards.append((report_id, span))
    ids = [c[0] for c in cards]
    if len(set(ids)) != len(ids):
        issues.append(("cards", "each report appears once"))
    if issues:
        raise BadLayout(issues)
    return cards


def save_layout(
    web: Engine,
    *,
    tenant_id: int,
    cards: list[tuple[int, int]],
    before_unpin: Callable[[list[dict[str, Any]]], None],
) -> list[Card]:
    """Orders and sizes the grid as `cards`; pinned reports not in it are un-pinned. A card
    that is not pinned (or not the tenant's) is a 400, and nothing changes.
    `before_unpin` sees the definitions of the reports about to be un-pinned, under the
    grid's row locks, and raises to refuse (then nothing changes either)."""
    p, r = s.dashboard_pins, s.reports
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        locked = conn.execute(
            sa.select(p.c.report_id, r.c.definition)
            .join(r, sa.and_(r.c.tenant_id == p.c.tenant_id, r.c.id == p.c.report_id))
            .with_for_update(of=p)
        )
        pinned = {row.report_id: row.definition for row in locked}
        unknown = [i for i, (report_id, _) in enumerate(cards) if report_id not in pinned]
        if unknown:
            raise BadLayout([(f"cards[{i}].report_id", "this report is not pinned")
                                 for i in unknown])  # fmt: skip
        kept = [report_id for report_id, _ in cards]
        before_unpin([d for report_id, d in pinned.items() if report_id not in kept])
        conn.execute(sa.delete(p).where(p.c.report_id.not_in(kept)))
        for position, (report_id, span) in enumerate(cards):
            conn.execute(
                sa.update(p).where(p.c.report_id == report_id).values(position=position, span=span)
            )
    return list_cards(web, tenant_id=tenant_id)
