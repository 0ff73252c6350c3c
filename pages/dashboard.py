"""/admin/analytics/dashboard — the Pulse overview, live activity and pinned reports.

Anyone with the analytics leaf sees it; people with `reports.manage` also arrange the
grid: card width (4, 6, 8 or 12 columns), order (the arrows, or drag a card onto
another), and un-pin (the button, or drag a card off the grid), each saved by
assets/dashboard.js through the /admin/analytics/dashboard/layout route, which checks
the permissions; a failed save shows inline with Retry, an un-pin offers Undo. What
the result cache (datasets.cache) already holds — the Pulse, any card — and the activity
feed are drawn in the page's first response, with no round trip of their own; the rest
is filled by callbacks of their own, started by a one-shot LOAD interval, behind their
own spinners, so they load in parallel and a slow card holds nothing else. Every minute
the Pulse and the cards read through the cache again, the activity feed every 20
seconds; a card's Refresh recomputes its report.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import MATCH, Input, Output, State, callback, dcc, html

import permissions
from access import HubUser, Leaf
from components import charts, dashboard, drill_panel, grid, shell
from components.freshness_note import freshness_note
from components.report_view import run_summary
from datasets.model import Mode, Viz
from datasets.pulse import DEFAULT_RANGE, RANGES, cached_pulse, pulse
from db import engines, pins
from db.activity import recent_activity
from reporting import Preview, cached_preview, preview

dash.register_page(__name__, path="/admin/analytics/dashboard", title="Dashboard · Analytics Hub")

RANGE = "dashboard-range"
PULSE = "dashboard-pulse"
ACTIVITY = "dashboard-activity"
GRID = "dashboard-grid"
VERSION = "dashboard-version"  # bumped after the grid changes (also by assets/dashboard.js)
ARRANGE_STATUS = "dashboard-arrange-status"  # filled by assets/dashboard.js: error, Undo
TICK = "dashboard-tick"
PULSE_LOAD = "dashboard-pulse-load"  # fires once when the Pulse was not in the cache
FEED_TICK = "dashboard-feed-tick"
REFRESH_MS, FEED_REFRESH_MS = 60_000, 20_000


def _grid(user: HubUser) -> Any:
    cards = pins.list_cards(engines.default().web, tenant_id=user.tenant_id)
    if not cards:
        hint = (
            "Pin a report from its page or from the saved reports list to see it here."
            if user.may(Leaf.REPORTS_MANAGE)
            else "Nothing is pinned yet. People who build reports can pin them here."
        )
        return html.Div(hint, className="hub-empty-state", id="dashboard-empty")
    views = []
    for i, card in enumerate(cards):
        known = cached_preview(card.definition, user, mode=Mode.SAVED)
        content = None if known is None else _card_content(card.report_id, known)
        views.append(dashboard.card_view(
            card, manage=permissions.may_manage_definition(user, card.definition),
            first=i == 0, last=i == len(cards) - 1, content=content))  # fmt: skip
    return dbc.Row(views, className="hub-pin-grid", id="dashboard-cards")


def _pulse_body(user: HubUser) -> tuple[Any, dcc.Interval]:
    """The Pulse from the cache, or nothing yet and a LOAD that asks for it at once."""
    known = cached_pulse(user.tenant_id, DEFAULT_RANGE)
    load = dcc.Interval(id=PULSE_LOAD, interval=1, max_intervals=0 if known else 1)
    return (dashboard.pulse_view(known) if known else None), load


def layout(**_query: str) -> html.Div:
    user = permissions.page_user(Leaf.ANALYTICS)
    if user is None:
        return shell.forbidden(Leaf.ANALYTICS, "The dashboard")
    range_picker = dbc.Select(
        id=RANGE, value=DEFAULT_RANGE, size="sm", className="hub-range-select",
        options=[{"label": label, "value": value} for value, label in RANGES.items()],
    )  # fmt: skip
    manage = user.may(Leaf.REPORTS_MANAGE)
    arrange = (" Drag a card by its header onto another to reorder it, or off the grid to "
               "un-pin it.") if manage else ""  # fmt: skip
    pulse_body, pulse_load = _pulse_body(user)
    return html.Div(
        [
            dcc.Store(id=VERSION, data=0),
            dcc.Interval(id=TICK, interval=REFRESH_MS),
            dcc.Interval(id=FEED_TICK, interval=FEED_REFRESH_MS),
            pulse_load,
            html.Div(
                [html.H1("Dashboard", className="h3 mb-0"),
                 html.Div([dbc.Label("Range", html_for=RANGE, className="small mb-0 me-2"),
                           range_picker], className="d-flex align-items-center")],
                className="d-flex justify-content-between align-items-center mb-3",
            ),
            dbc.Row([
                dbc.Col(dbc.Card([
                    dbc.CardHeader(html.H2("Pulse", className="h6 mb-0")),
                    dbc.CardBody(dcc.Loading(html.Div(pulse_body, id=PULSE))),
                ], className="h-100"), lg=8, className="mb-3"),
                dbc.Col(dbc.Card([
                    dbc.CardHeader(html.H2("Live activity", className="h6 mb-0")),
                    dbc.CardBody(html.Div(_activity(user), id=ACTIVITY),
                                 className="hub-activity"),
                ], className="h-100"), lg=4, className="mb-3"),
            ]),
            html.H2("Pinned reports", className="h5 mt-2 mb-1"),
            html.P("Each card runs its report live; click a point, bar or row to see the rows "
                   "behind it." + arrange,
                   className="text-body-secondary small"),
            html.Div(id=ARRANGE_STATUS, **{"aria-live": "polite"}) if manage else None,
            html.Div(_grid(user), id=GRID),
            drill_panel.drill_offcanvas(),
        ],
        id="hub-dashboard",
    )  # fmt: skip


@callback(
    Output(PULSE, "children"),
    Input(RANGE, "value"),
    Input(TICK, "n_intervals"),
    Input(PULSE_LOAD, "n_intervals"),
    prevent_initial_call=True,
)
def render_pulse(preset: str | None, _tick: int | None, _load: int | None) -> html.Div:
    user = permissions.require(Leaf.ANALYTICS)
    return dashboard.pulse_view(pulse(user.tenant_id, preset or DEFAULT_RANGE))


def _activity(user: HubUser) -> Any:
    feed = recent_activity(engines.default().web, tenant_id=user.tenant_id)
    return dashboard.activity_view(feed, dt.datetime.now(dt.UTC))


@callback(Output(ACTIVITY, "children"), Input(FEED_TICK, "n_intervals"),
          prevent_initial_call=True)  # fmt: skip
def render_activity(_tick: int | None) -> Any:
    return _activity(permissions.require(Leaf.ANALYTICS))


@callback(
    Output(dashboard.card_id("body", MATCH), "children"),
    Input(dashboard.card_id("load", MATCH), "n_intervals"),
    Input(TICK, "n_intervals"),
    Input(dashboard.card_id("refresh", MATCH), "n_clicks"),
    State(dashboard.card_id("body", MATCH), "id"),
    prevent_initial_call=True,
)
def render_card(
    _load: int | None, _tick: int | None, refreshes: int | None, body: dict[str, Any]
) -> Any:
    """The card's report (saved mode, 500 rows), cached or, after Refresh, run now: its
    chart, or its table. Cards the page drew from the cache start with the minute tick."""
    user = permissions.require(Leaf.ANALYTICS)
    report = permissions.visible_report(user, body.get("report"))
    if report is None:
        return html.P("This report was deleted.", className="text-body-secondary")
    refresh = bool(refreshes) and dash.ctx.triggered_id == dashboard.card_id("refresh", report.id)
    outcome = preview(report.definition, user, mode=Mode.SAVED, refresh=refresh)
    return _card_content(report.id, outcome)


def _card_content(report_id: int, outcome: Preview) -> Any:
    """A card's body: its chart or table, what ran, and its data's freshness."""
    if outcome.result is None:
        text = "; ".join(f"{path}: {message}" for path, message in outcome.issues)
        return dbc.Alert(f"This report cannot run: {text}", color="warning", className="mb-0")
    result = outcome.result
    if result.frame.empty:
        chart: Any = html.Div("No data for this range.", className="hub-empty-state")
    elif result.definition.viz is Viz.TABLE:
        chart = grid.table(result, grid_id=drill_panel.drill_grid(report_id))
    else:
        height = 150 if result.definition.viz is Viz.KPI else 280
        figure = charts.figure(result, outcome.previous).update_layout(height=height)
        chart = dcc.Graph(
            figure=figure, config=charts.GRAPH_CONFIG, id=drill_panel.drill_chart(report_id)
        )
    return html.Div(
        [
            chart,
            run_summary(result),
            freshness_note(
                result.definition.dataset, note_id=dashboard.card_id("freshness", report_id)
            ),
        ]
    )


@callback(Output(GRID, "children"), Input(VERSION, "data"), prevent_initial_call=True)
def render_grid(_version: float) -> Any:
    return _grid(permissions.require(Leaf.ANALYTICS))
