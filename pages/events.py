"""/admin/insights/events — the Event Explorer: the tenant's raw telemetry events, newest
first, filtered by the URL's query (so a view can be shared), with keyset paging, a Live
toggle and a conversation's timeline. Every part needs `comerix.insights.telemetry`,
checked in the layout and again in every callback."""

from __future__ import annotations

import dataclasses
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import (
    ALL,
    Input,
    Output,
    Patch,
    State,
    callback,
    clientside_callback,
    dcc,
    html,
    no_update,
)

import permissions
from access import HubUser, Leaf
from components import event_explorer as explorer
from components import shell
from datasets.suggest import suggest, suggestable
from db import engines
from db import events as db_events
from errors import BadEventFilter

dash.register_page(__name__, path="/admin/insights/events", title="Events · Analytics Hub")

POLL_MS = 5000  # the spec's "at most every 5 s"


def _event_names(user: HubUser, search: str, selected: str | None) -> list[dict[str, Any]]:
    """The telemetry dataset's event-name suggestions, most frequent first, plus the
    name already chosen."""
    dataset, spec = suggestable("telemetry", "event_name")
    permissions.require_dataset(user, dataset.id)
    found = [{"label": str(v["label"]), "value": v["value"]}
             for v in suggest(dataset, spec, search, tenant_id=user.tenant_id)]  # fmt: skip
    if selected and selected not in {o["value"] for o in found}:
        found.append({"label": selected, "value": selected})
    return found


def _page(user: HubUser, filters: db_events.EventFilter) -> db_events.EventPage:
    return db_events.events_page(engines.default().web, tenant_id=user.tenant_id, filters=filters)


def _since(user: HubUser, filters: db_events.EventFilter, page: db_events.EventPage) -> str | None:
    """Where Live starts: the newest event the filters match (this page's first row when
    this page is the newest)."""
    if page.newer is not None:
        newest = dataclasses.replace(filters, older_than=None, newer_than=None)
        page = _page(user, newest)
    first = page.events[0] if page.events else None
    return db_events.Cursor(first.occurred_at, first.id).token() if first else None


def layout(**raw: str | list[str]) -> html.Div:
    user = permissions.page_user(Leaf.TELEMETRY)
    if user is None:
        return shell.forbidden(Leaf.TELEMETRY, "The Event Explorer")
    # A repeated parameter arrives as a list: its last value counts, as in a browser form.
    query = {k: v if isinstance(v, str) else v[-1] for k, v in raw.items()}
    # Live polls only a view that parsed: a bad URL has nothing to poll ("query": None).
    problem, page, live = None, None, {"query": None, "since": None, "is_newest": False}
    try:
        filters = db_events.parse_filters(query)
    except BadEventFilter as bad:
        problem = bad
    else:
        page = _page(user, filters)
        live = {"query": query, "since": _since(user, filters, page),
                "is_newest": page.newer is None, "count": 0}  # fmt: skip
    return html.Div(
        [
            dcc.Location(id=explorer.URL, refresh="callback-nav"),
            dcc.Interval(id=explorer.POLL, interval=POLL_MS, disabled=query.get("live") != "1"),
            dcc.Store(id=explorer.LIVE_STATE, data=live),
            html.H1("Event Explorer", className="h3 mb-1"),
            html.P("The raw telemetry events, newest first. Times are UTC.",
                   className="text-body-secondary"),
            explorer.filter_bar(query, problem, _event_names(user, "", query.get("event"))),
            dbc.Row([
                dbc.Col([
                    html.Div(id=explorer.NEWER_NOTE, className="mb-2"),
                    explorer.events_table(page),
                    explorer.pager(query, page),
                    html.Div(problem.messages_for("older") + problem.messages_for("newer")
                             if problem else "", className="invalid-feedback d-block"),
                ], lg=8),
                dbc.Col(html.Div(id=explorer.TIMELINE), lg=4),
            ]),
        ],
        id="hub-events",
    )  # fmt: skip


# Live on or off is UI only: it starts or stops the poll, no request to the server, and
# the address says it at once (live=1, replaced in place), so a reload or a shared link
# stays live.
clientside_callback(
    """function (on) {
        const url = new URL(window.location.href);
        if (on) { url.searchParams.set("live", "1"); } else { url.searchParams.delete("live"); }
        window.history.replaceState(window.history.state, "", url);
        return !on;
    }""",
    Output(explorer.POLL, "disabled"),
    Input(explorer.LIVE, "value"),
    prevent_initial_call=True,
)


@callback(
    Output(explorer.URL, "search"),
    Input(explorer.field_id("start"), "start_date"),
    Input(explorer.field_id("start"), "end_date"),
    *(Input(explorer.field_id(f), "value") for f in explorer.FIELDS[2:]),
    State(explorer.LIVE, "value"),
    prevent_initial_call=True,
)
def apply_filters(*values: str | bool | None) -> str:
    """A changed filter becomes the URL (from the newest page), which renders the view."""
    permissions.require(Leaf.TELEMETRY)
    *fields, live = values
    query = {f: str(v)[:10] if f in ("start", "end") and v else str(v or "")
             for f, v in zip(explorer.FIELDS, fields, strict=True)}  # fmt: skip
    return explorer.search({**query, "live": "1" if live else ""})


@callback(
    Output(explorer.field_id("event"), "options"),
    Input(explorer.field_id("event"), "search_value"),
    State(explorer.field_id("event"), "value"),
    prevent_initial_call=True,
)
def suggest_events(search: str | None, selected: str | None) -> list[dict[str, Any]]:
    return _event_names(permissions.require(Leaf.TELEMETRY), search or "", selected)


@callback(
    Output(explorer.TIMELINE, "children"),
    Input(explorer.conversation_id(ALL), "n_clicks"),  # type: ignore[arg-type]
    prevent_initial_call=True,
)
def show_timeline(_clicks: list[int | None]) -> Any:
    """A clicked conversation's timeline; nothing for another tenant's id (RLS)."""
    user = permissions.require(Leaf.TELEMETRY)
    trigger, clicked = dash.ctx.triggered_id, dash.ctx.triggered[0]["value"]
    conversation = trigger.get("conversation") if isinstance(trigger, dict) else None
    if not clicked or type(conversation) is not int or not 0 < conversation < 2**63:
        return no_update  # rows arriving (Live), not a click
    items = db_events.conversation_timeline(
        engines.default().web, tenant_id=user.tenant_id, conversation_id=conversation
    )
    return explorer.timeline(conversation, items)


@callback(
    Output(explorer.TBODY, "children"),
    Output(explorer.LIVE_STATE, "data"),
    Output(explorer.NEWER_NOTE, "children"),
    Output(explorer.EMPTY_NOTE, "children"),
    Input(explorer.POLL, "n_intervals"),
    State(explorer.LIVE_STATE, "data"),
    prevent_initial_call=True,
)
def poll(_n: int | None, state: dict[str, Any] | None) -> tuple[Any, ...]:
    """Events newer than the newest seen: prepended on the newest page (the reader's
    place kept), else counted with a way to the newest page."""
    user = permissions.require(Leaf.TELEMETRY)
    query = state.get("query") if isinstance(state, dict) else None
    if not isinstance(query, dict):
        return (no_update,) * 4
    base = {k: str(v) for k, v in query.items() if k not in ("older", "newer")}
    filters = db_events.parse_filters({**base, "newer": str(state.get("since") or "")})
    page = _page(user, filters)
    if not page.events:
        return (no_update,) * 4
    newest = page.events[0]
    seen = {**state, "since": db_events.Cursor(newest.occurred_at, newest.id).token()}
    if not state.get("is_newest"):
        count = (state["count"] if type(state.get("count")) is int else 0) + len(page.events)
        return (
            no_update,
            seen | {"count": count},
            explorer.newer_note(count, explorer.href(base)),
            no_update,
        )
    rows = Patch()
    for event in reversed(page.events):
        rows.prepend(explorer.event_row(event))
    return rows, seen, no_update, ""
