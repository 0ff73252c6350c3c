"""The dashboard's pieces: the Pulse overview, the live activity feed and the cards of the
pinned-reports grid. Every number goes through the shared formatter."""

from __future__ import annotations

import datetime as dt
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import charts
from datasets.formatting import EMPTY, format_duration, format_money, format_value
from datasets.pulse import Pulse
from datasets.run import Result
from db.activity import Activity
from db.pins import SPANS, Card

SPAN_LABELS = {4: "Third", 6: "Half", 8: "Two thirds", 12: "Full width"}
KIND_BADGES = {"conversion": ("Conversion", "success"), "run": ("Flow run", "primary"),
               "conversation": ("Conversation", "secondary")}  # fmt: skip


def card_id(part: str, report_id: Any) -> dict[str, Any]:
    """A part of a pinned card: body, load, refresh, span, left, right, remove, freshness."""
    return {"type": f"pin-card-{part}", "report": report_id}


def cell(result: Result, column_id: str, row: int = 0) -> str:
    """One cell of a result as display text; "—" when the result has no such row."""
    column = next(c for c in result.columns if c.id == column_id)
    if row >= len(result.frame):
        return EMPTY
    return format_value(result.frame.iloc[row][column_id], column)


def _tile(label: str, value: str, note: str = "", tile_id: str = "") -> dbc.Col:
    return dbc.Col(
        html.Div(
            [
                html.Div(label, className="hub-tile-label"),
                html.Div(value, className="hub-tile-value", id=tile_id or None),
                html.Div(note, className="hub-tile-note") if note else None,
            ],
            className="hub-tile",
        ),
        xs=6,
        md=4,
        xl=True,
    )


def _flow_list(title: str, result: Result, line: Any, empty: str, list_id: str) -> html.Div:
    items = [
        html.Li(
            [html.Span(cell(result, "flow", i), className="fw-semibold"),
             html.Span(line(i), className="text-body-secondary small")],
            className="list-group-item d-flex justify-content-between gap-2",
        )
        for i in range(len(result.frame))
    ]  # fmt: skip
    return html.Div(
        [
            html.H3(title, className="h6 mt-3"),
            html.Ul(items, className="list-group list-group-flush", id=list_id)
            if items
            else html.P(empty, className="text-body-secondary small", id=list_id),
        ]
    )


def pulse_view(pulse: Pulse) -> html.Div:
    conversations = int(pulse.hero.frame["conversations"].sum())
    # automargin widens the left margin to the longest tick label ("190,000"), which a
    # fixed margin clipped to "0,000".
    hero_chart = charts.figure(pulse.hero).update_layout(
        height=150, margin={"l": 8, "r": 8, "t": 8, "b": 28}, showlegend=False,
        yaxis_automargin=True,
    )  # fmt: skip
    spend = cell(pulse.tokens, "cost") if pulse.has_token_data() else EMPTY
    tokens = f"{cell(pulse.tokens, 'total_tokens')} tokens" if pulse.has_token_data() else ""
    attention, top = pulse.attention(), pulse.top_flows()
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col([
                        html.Div("Conversations, last 14 days", className="hub-tile-label"),
                        html.Div(f"{conversations:,}", className="hub-hero-value",
                                 id="pulse-conversations"),
                    ], md=3),
                    dbc.Col(dcc.Graph(figure=hero_chart, config=charts.GRAPH_CONFIG,
                                      id="pulse-hero-chart"), md=9),
                ],
                className="align-items-center",
            ),
            dbc.Row([
                _tile("Flow runs", cell(pulse.strip, "total_runs"), tile_id="pulse-runs"),
                _tile("Success rate", cell(pulse.strip, "success_rate"),
                      tile_id="pulse-success"),
                _tile("Avg duration", cell(pulse.strip, "avg_duration"),
                      tile_id="pulse-duration"),
                _tile("Failed runs", cell(pulse.strip, "failed"), tile_id="pulse-failed"),
                _tile("Token spend", spend, tokens, tile_id="pulse-token-spend"),
            ], className="g-2 my-2"),
            dbc.Row([
                dbc.Col(_flow_list(
                    "Flows that need attention", attention,
                    lambda i: f"{cell(attention, 'failed', i)} failed · "
                              f"{cell(attention, 'success_rate', i)} success",
                    "Every flow is above 90% success in this range.", "pulse-attention"), md=6),
                dbc.Col(_flow_list(
                    "Top flows by runs", top,
                    lambda i: f"{cell(top, 'total_runs', i)} runs",
                    "No flow ran in this range.", "pulse-top-flows"), md=6),
            ]),
            html.Div(pulse.as_of, className="text-body-secondary small mt-2", id="pulse-as-of"),
        ]
    )  # fmt: skip


def _ago(at: dt.datetime, now: dt.datetime) -> str:
    seconds = max(0, int((now - at).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return at.strftime("%Y-%m-%d %H:%M UTC")


def _activity_line(item: Activity) -> str:
    match item.kind:
        case "conversion":
            value = f" · {format_money(item.value, item.currency)}" if item.value else ""
            return f"on {item.detail}{value}"
        case "run":
            took = f" in {format_duration(item.duration_ms)}" if item.duration_ms else ""
            return f"{item.detail}{took}"
        case _:
            return f"customer {item.detail}"


def activity_view(feed: list[Activity], now: dt.datetime) -> html.Ul | html.P:
    if not feed:
        return html.P("Nothing has happened yet.", className="text-body-secondary small")
    items = []
    for item in feed:
        label, color = KIND_BADGES[item.kind]
        items.append(
            html.Li(
                [
                    html.Div([dbc.Badge(label, color=color, className="me-2"),
                              html.Span(item.title, className="fw-semibold")]),
                    html.Div([html.Span(_activity_line(item)),
                              html.Span(_ago(item.at, now), className="ms-2")],
                             className="small text-body-secondary"),
                ],
                className="list-group-item px-0",
            )
        )  # fmt: skip
    return html.Ul(items, className="list-group list-group-flush", id="activity-list")


def _arrange(card: Card, how: str, text: str, title: str, disabled: bool = False) -> html.Button:
    """A card button that assets/dashboard.js saves through the layout route (`how`: left,
    right or remove), as it saves drags: an inline error with Retry, Undo of an un-pin."""
    return html.Button(text, id=card_id(how, card.report_id), type="button", title=title,
                       disabled=disabled, className="btn btn-link btn-sm px-1 text-body-secondary",
                       **{"data-arrange": how})  # fmt: skip


def _controls(card: Card, first: bool, last: bool) -> html.Div:
    return html.Div(
        [
            html.Div(dbc.Select(
                id=card_id("span", card.report_id), value=str(card.span), size="sm",
                options=[{"label": SPAN_LABELS[s], "value": str(s)} for s in SPANS],
                className="hub-span-select"), title="Card width"),
            _arrange(card, "left", "←", "Move earlier", disabled=first),
            _arrange(card, "right", "→", "Move later", disabled=last),
            _arrange(card, "remove", "Unpin", "Remove from the dashboard"),
        ],
        className="d-flex align-items-center gap-1",
    )  # fmt: skip


def card_view(card: Card, *, manage: bool, first: bool, last: bool, content: Any = None) -> dbc.Col:
    """A card showing `content` (its report read from the cache) or, when that is None, a
    body its own callback fills at once through a one-shot LOAD interval, behind its own
    loading spinner, so each card (and the Pulse) loads in parallel with the others;
    Refresh recomputes it."""
    refresh = dbc.Button(
        "Refresh",
        id=card_id("refresh", card.report_id),
        size="sm",
        color="link",
        className="px-1 text-body-secondary",
        title="Run the report again now instead of reading the cached result",
    )
    header = html.Div(
        [
            html.A(card.name, href=f"/admin/analytics/reports/{card.report_id}",
                   className="fw-semibold text-truncate"),
            html.Div([refresh, _controls(card, first, last) if manage else None],
                     className="d-flex align-items-center gap-1"),
        ],
        className="d-flex justify-content-between align-items-center gap-2",
    )  # fmt: skip
    body = dcc.Loading(html.Div(content, id=card_id("body", card.report_id),
                                className="hub-card-body"))  # fmt: skip
    load = dcc.Interval(id=card_id("load", card.report_id), interval=1,
                        max_intervals=0 if content is not None else 1)  # fmt: skip
    return dbc.Col(
        html.Div(
            dbc.Card(
                [dbc.CardHeader(header, className="hub-card-handle" if manage else ""),
                 dbc.CardBody([load, body])],
                className="h-100",
            ),
            className="hub-pin-card h-100",
            draggable="true" if manage else None,
            **{"data-report": str(card.report_id), "data-span": str(card.span)},
        ),
        xs=12,
        lg=card.span,
        className="mb-3",
    )  # fmt: skip
