"""/admin/analytics/dashboard/layout: the pinned-reports grid as JSON.

GET  answers {"cards": [{"report_id", "position", "span", "name"}, …]} in grid order
     (analytics leaf).
PUT  takes {"cards": [{"report_id", "span"}, …]} in the new order (reports.manage):
     spans are 4, 6, 8 or 12 columns; a pinned report left out is un-pinned, which needs
     managing that report (its dataset's leaf too: 403, and nothing changes). Answers
     the saved grid like GET; a bad body is a 400 naming each bad field.
POST /restore takes the same body and pins again, with their width and place, the
     cards' reports that are not pinned (the Undo of an un-pin; managing each report),
     then saves the grid like PUT.
"""

from __future__ import annotations

import flask

import permissions
from access import HubUser, Leaf
from db import engines, pins

blueprint = flask.Blueprint("dashboard_api", __name__, url_prefix="/admin/analytics/dashboard")


def _grid(cards: list[pins.Card]) -> flask.Response:
    return flask.jsonify({"cards": [card.to_json() for card in cards]})


def _save(user: HubUser, cards: list[tuple[int, int]]) -> flask.Response:
    """Saves the grid; un-pinning a report needs managing it (403, nothing changes)."""
    saved = pins.save_layout(
        engines.default().web,
        tenant_id=user.tenant_id,
        cards=cards,
        before_unpin=lambda dropped: permissions.require_unpin(user, dropped),
    )
    return _grid(saved)


@blueprint.get("/layout")
def layout() -> flask.Response:
    user = permissions.require(Leaf.ANALYTICS)
    return _grid(pins.list_cards(engines.default().web, tenant_id=user.tenant_id))


@blueprint.put("/layout")
def save_layout() -> flask.Response:
    user = permissions.require(Leaf.REPORTS_MANAGE)
    return _save(user, pins.parse_layout(flask.request.get_json(silent=True)))


@blueprint.post("/restore")
def restore_layout() -> flask.Response:
    user = permissions.require(Leaf.REPORTS_MANAGE)
    cards = pins.parse_layout(flask.request.get_json(silent=True))
    web = engines.default().web
    pinned = {card.report_id for card in pins.list_cards(web, tenant_id=user.tenant_id)}
    for report_id, span in cards:
        if report_id not in pinned:
            _, report = permissions.manageable_report(report_id)
            pins.pin(web, tenant_id=user.tenant_id, report_id=report.id, span=span)
    return _save(user, cards)
