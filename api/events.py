"""GET /admin/insights/events.csv — the Event Explorer's filtered events as CSV (the
newest 5000), for holders of `comerix.insights.telemetry`. The query is the explorer's
own (db.events.parse_filters); text cells are neutralised against formula injection."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator

import flask

import permissions
from access import Leaf
from api.exports import attachment
from db import engines
from db.events import Event, events_rows, parse_filters
from export_formats import filename, neutralised

blueprint = flask.Blueprint("events_api", __name__, url_prefix="/admin/insights")
HEADER = ("Time (UTC)", "Event", "Conversation", "Channel", "Customer", "Properties")


def _lines(events: list[Event]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    rows = (
        [e.occurred_at.astimezone(dt.UTC).isoformat(), e.event_name,
         "" if e.conversation_id is None else str(e.conversation_id), e.channel or "",
         e.customer_id or "", json.dumps(e.properties, sort_keys=True, default=str)]
        for e in events
    )  # fmt: skip
    for row in (list(HEADER), *rows):
        writer.writerow([neutralised(cell) for cell in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


@blueprint.get("/events.csv")
def export_events() -> flask.Response:
    user = permissions.require(Leaf.TELEMETRY)
    filters = parse_filters(flask.request.args.to_dict())
    events = events_rows(engines.default().web, tenant_id=user.tenant_id, filters=filters)
    body = (line.encode() for line in _lines(events))
    name = filename("events", "csv", dt.datetime.now(dt.UTC).date())
    return attachment(flask.stream_with_context(body), "csv", name)
