"""The Event Explorer's building blocks: the filter bar, the events table, the pager and a
conversation's timeline. Tenant text (event names, properties, customers) is always a
text child, never HTML or markdown."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.card_table import CARD_TABLE, cell
from datasets.formatting import EMPTY, format_duration, format_money
from db.events import CHANNELS, EXPORT_ROWS, PAGE_SIZES, Event, EventPage, TimelineItem
from errors import BadEventFilter

URL = "events-url"
FIELDS = ("start", "end", "event", "conversation", "customer", "channel", "key", "op",
          "value", "size")  # fmt: skip
TEXT_FIELDS = ("conversation", "customer", "key", "value")
TBODY = "events-rows"
EVENT_COLUMNS = ("Time", "Event", "Conversation", "Channel", "Customer", "Properties")
TIMELINE_COLUMNS = ("Time (UTC)", "Kind", "What", "Detail", "Tokens", "Cost", "Duration")
EMPTY_NOTE = "events-empty"
LIVE = "events-live"
POLL = "events-poll"
LIVE_STATE = "events-live-state"  # the filters and the newest event seen by Live
NEWER_NOTE = "events-newer-note"
TIMELINE = "events-timeline"
PREVIEW_CHARS = 80


def field_id(field: str) -> str:
    return f"events-{field}"


def error_id(field: str) -> str:
    return f"events-error-{field}"


def conversation_id(conversation: int) -> dict[str, Any]:
    return {"type": "events-conversation", "conversation": conversation}


def search(query: dict[str, str]) -> str:
    """The URL query string of `query` (empty values left out)."""
    kept = {k: v for k, v in query.items() if v}
    return f"?{urlencode(kept)}" if kept else ""


def href(query: dict[str, str]) -> str:
    return "/admin/insights/events" + search(query)


def _date(value: str | None) -> str | None:
    """A URL date the picker can show, else None (the error says why)."""
    try:
        return dt.date.fromisoformat(value or "").isoformat()
    except ValueError:
        return None


def _field(label: str, control: Any, field: str, problem: BadEventFilter | None,
           width: int = 2) -> dbc.Col:  # fmt: skip
    """A labelled control with the URL's messages for its field (both dates for the range)."""
    names = ("start", "end") if field == "start" else (field,)
    messages = "; ".join(m for n in names if problem and (m := problem.messages_for(n)))
    return dbc.Col(
        [dbc.Label(label, html_for=field_id(field), className="fw-semibold small mb-1"),
         control, html.Div(messages, id=error_id(field), className="invalid-feedback d-block")],
        md=width,
    )  # fmt: skip


def filter_bar(query: dict[str, str], problem: BadEventFilter | None,
               event_options: list[dict[str, Any]]) -> dbc.Card:  # fmt: skip
    """The filters, showing the URL's values and each bad field's messages."""
    today = dt.datetime.now(dt.UTC).date()
    text = {f: dbc.Input(id=field_id(f), value=query.get(f, ""), debounce=True, size="sm")
            for f in TEXT_FIELDS}  # fmt: skip
    text["conversation"].placeholder, text["customer"].placeholder = "e.g. 1042", "customer id"
    text["key"].placeholder, text["value"].placeholder = "property key", "value"

    def select(field: str, value: str, options: list[tuple[str, str]]) -> dbc.Select:
        return dbc.Select(id=field_id(field), value=value, size="sm",
                          options=[{"label": t, "value": v} for v, t in options])  # fmt: skip

    dates = dcc.DatePickerRange(
        id=field_id("start"), start_date=_date(query.get("start")),
        end_date=_date(query.get("end")), first_day_of_week=1, max_date_allowed=today,
        display_format="YYYY-MM-DD", clearable=True, minimum_nights=0,
    )  # fmt: skip
    events = dcc.Dropdown(id=field_id("event"), options=event_options, searchable=True,
                          value=query.get("event") or None, placeholder="Any event")  # fmt: skip
    fields = [
        _field("Time range (UTC)", dates, "start", problem, 3),
        _field("Event", events, "event", problem, 3),
        _field("Conversation", text["conversation"], "conversation", problem),
        _field("Customer", text["customer"], "customer", problem),
        _field("Channel", select("channel", query.get("channel", ""),
                                 [("", "Any"), *((c, c) for c in CHANNELS)]), "channel", problem),
        _field("Property", text["key"], "key", problem),
        _field("Matches", select("op", query.get("op") or "eq",
                                 [("eq", "equals"), ("contains", "contains")]), "op", problem),
        _field("Value", text["value"], "value", problem),
        _field("Rows a page", select("size", query.get("size") or str(PAGE_SIZES[0]),
                                     [(str(n), str(n)) for n in PAGE_SIZES]), "size", problem),
        dbc.Col(dbc.Switch(id=LIVE, label="Live", value=query.get("live") == "1"),
                md=1, className="d-flex align-items-end"),
    ]  # fmt: skip
    return dbc.Card(dbc.CardBody(dbc.Row(fields, className="g-3")), className="mb-3")


def _properties(properties: dict[str, Any]) -> html.Details:
    compact = json.dumps(properties, sort_keys=True, default=str)
    summary = compact if len(compact) <= PREVIEW_CHARS else compact[:PREVIEW_CHARS] + "…"
    return html.Details(
        [html.Summary(summary, className="font-monospace small"),
         html.Pre(json.dumps(properties, indent=2, sort_keys=True, default=str),
                  className="small mb-0")],
    )  # fmt: skip


def event_row(event: Event) -> html.Tr:
    conversation = (
        dbc.Button(str(event.conversation_id), id=conversation_id(event.conversation_id),
                   color="link", size="sm", className="p-0 events-conversation")
        if event.conversation_id is not None else EMPTY
    )  # fmt: skip
    head = EVENT_COLUMNS
    return html.Tr(
        [html.Td(event.occurred_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
                 className="text-nowrap"),
         cell(head[1], html.Code(event.event_name)), cell(head[2], conversation),
         cell(head[3], event.channel or EMPTY), cell(head[4], event.customer_id or EMPTY),
         cell(head[5], _properties(event.properties))],
        **{"data-event-id": str(event.id)},
    )  # fmt: skip


def events_table(page: EventPage | None) -> html.Div:
    rows = [event_row(e) for e in page.events] if page is not None else []
    return html.Div([
        dbc.Table([html.Thead(html.Tr([html.Th(h) for h in EVENT_COLUMNS])),
                   html.Tbody(rows, id=TBODY)], hover=True, responsive=True, size="sm",
                  className=f"mb-2 {CARD_TABLE}", id="events-table"),
        html.Div("No events match these filters." if page is not None and not rows else "",
                 id=EMPTY_NOTE, className="text-body-secondary"),
    ])  # fmt: skip


def pager(query: dict[str, str], page: EventPage | None) -> html.Div:
    """Newer and Older: links to the page's cursors, disabled at either end."""
    base = {k: v for k, v in query.items() if k not in ("older", "newer")}

    def button(label: str, field: str, cursor: Any) -> dbc.Button:
        target = href({**base, field: cursor.token()}) if cursor is not None else None
        return dbc.Button(label, id=f"events-{field}", href=target, disabled=target is None,
                          color="secondary", outline=True, size="sm")  # fmt: skip

    export = {k: v for k, v in base.items() if k != "live"}
    return html.Div(
        [button("← Newer", "newer", page.newer if page else None),
         button("Older →", "older", page.older if page else None),
         html.A("Export CSV", href=f"/admin/insights/events.csv{search(export)}", download="",
                id="events-csv", className="btn btn-outline-primary btn-sm ms-auto",
                title=f"The newest {EXPORT_ROWS:,} events these filters match")],
        className="d-flex gap-2",
    )  # fmt: skip


def newer_note(count: int, newest: str) -> html.Div:
    """How many newer events arrived, and a way to the newest page, for a reader further
    down."""
    text = f"{count:,} newer event{'' if count == 1 else 's'}"
    return html.Div([html.Span(text, className="me-2"),
                     dbc.Button("Show newest", href=newest, size="sm", color="primary",
                                id="events-show-newest")])  # fmt: skip


def _timeline_row(item: TimelineItem) -> html.Tr:
    head = TIMELINE_COLUMNS
    return html.Tr(
        [html.Td(item.at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
                 className="text-nowrap"),
         cell(head[1], dbc.Badge(item.kind, color="secondary")), cell(head[2], item.title),
         cell(head[3], item.detail, className="small text-break"),
         cell(head[4], f"{item.tokens:,}" if item.tokens is not None else ""),
         cell(head[5], format_money(item.cost_usd, "USD") if item.cost_usd is not None else ""),
         cell(head[6], format_duration(item.duration_ms)
              if item.duration_ms is not None else "")],
        className="events-timeline-item",
    )  # fmt: skip


def timeline(conversation: int, items: list[TimelineItem] | None) -> dbc.Card:
    """A conversation's events, messages, runs and completions in time order."""
    if items is None:
        body: Any = html.P("There is no such conversation.", className="mb-0")
    else:
        body = dbc.Table([html.Thead(html.Tr([html.Th(h) for h in TIMELINE_COLUMNS])),
                          html.Tbody([_timeline_row(i) for i in items])],
                         size="sm", responsive=True, className=f"mb-0 {CARD_TABLE}")  # fmt: skip
    return dbc.Card(
        [dbc.CardHeader(f"Conversation {conversation}", className="fw-semibold"),
         dbc.CardBody(body)],
        id="events-timeline-card",
    )  # fmt: skip
