"""The Pin / Unpin button of a saved report (report page and landing rows).

Pinning adds the report as a card at the end of the dashboard grid; un-pinning removes
its card. Needs `reports.manage` and the report's dataset leaf, checked on the server.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import MATCH, Input, Output, State, callback, no_update

import permissions
from db import engines, pins


def pin_id(report_id: Any) -> dict[str, Any]:
    return {"type": "pin-toggle", "report": report_id}


def _label(is_pinned: bool) -> str:
    return "Unpin" if is_pinned else "Pin"


def _title(is_pinned: bool) -> str:
    return "Remove its card from the dashboard" if is_pinned else "Add it to the dashboard"


def pin_button(report_id: int, is_pinned: bool, *, small_link: bool = False) -> dbc.Button:
    style = {"color": "link", "className": "small me-2 p-0 align-baseline"} if small_link else {
        "color": "secondary", "outline": True, "size": "sm", "className": "me-2"}  # fmt: skip
    return dbc.Button(_label(is_pinned), id=pin_id(report_id), title=_title(is_pinned),
                      value="pinned" if is_pinned else "", **style)  # fmt: skip


@callback(
    Output(pin_id(MATCH), "children"),
    Output(pin_id(MATCH), "value"),
    Output(pin_id(MATCH), "title"),
    Input(pin_id(MATCH), "n_clicks"),
    State(pin_id(MATCH), "value"),
    State(pin_id(MATCH), "id"),
    prevent_initial_call=True,
)
def toggle_pin(clicks: int | None, value: str | None, button: dict[str, Any]) -> tuple[Any, ...]:
    user, report = permissions.manageable_report(button.get("report"))
    if not clicks:  # Dash may call it when the page's components arrive
        return no_update, no_update, no_update
    web = engines.default().web
    if value == "pinned":
        pins.unpin(web, tenant_id=user.tenant_id, report_id=report.id)
    else:
        pins.pin(web, tenant_id=user.tenant_id, report_id=report.id)
    is_pinned = value != "pinned"
    return _label(is_pinned), "pinned" if is_pinned else "", _title(is_pinned)
