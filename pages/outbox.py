"""/admin/analytics/outbox — scheduled emails kept in the Maildir outbox (no SMTP_URL).

For people who schedule reports (`reports.manage`): their tenant's messages, newest
first, each with its recipients, attachment, a link to its report, and the email as
recipients see it, drawn when the message is opened (so 50 messages do not draw 50
emails). Mail of a dataset the user may not read (telemetry) is left out, here and in
the preview callback. Without MAILER_FROM it says that nothing is being sent, and what
to set.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, html, no_update

import config
import permissions
from access import HubUser, Leaf
from components import schedule_form, shell
from mailer import OutboxMessage, delivery_problem, outbox_message, outbox_messages

dash.register_page(__name__, path="/admin/analytics/outbox", title="Outbox · Analytics Hub")

DELIVERY_PROBLEM = "outbox-delivery-problem"  # why scheduled emails cannot go out, if so
LIST = "hub-outbox-list"


def preview_id(key: str) -> dict[str, str]:
    return {"type": "outbox-preview", "key": key}


def _readable(user: HubUser, message: OutboxMessage | None) -> bool:
    return message is not None and permissions.may_read_leaf(user, message.leaf)


def _item(message: OutboxMessage) -> dbc.AccordionItem:
    sent = message.sent_at.strftime("%Y-%m-%d %H:%M UTC") if message.sent_at else "—"
    return dbc.AccordionItem(
        [
            html.Dl(
                [
                    html.Dt("To", className="col-sm-2"),
                    html.Dd(message.recipients, className="col-sm-10"),
                    html.Dt("Attached", className="col-sm-2"),
                    html.Dd(", ".join(message.attachments) or "—", className="col-sm-10"),
                    html.Dt("Report", className="col-sm-2"),
                    html.Dd(
                        html.A(
                            "Open the report", href=f"/admin/analytics/reports/{message.report_id}"
                        )
                        if message.report_id
                        else "—",
                        className="col-sm-10",
                    ),
                ],
                className="row small mb-2",
            ),
            html.Div(
                html.Div("Loading the email…", className="small text-body-secondary"),
                id=preview_id(message.key),
            ),
        ],
        title=f"{message.subject} · {sent}",
        item_id=message.key,
    )


def layout(**_query: str) -> html.Div:
    user = permissions.page_user(Leaf.REPORTS_MANAGE)
    if user is None:
        return shell.forbidden(Leaf.REPORTS_MANAGE, "The Outbox")
    settings = config.load()
    messages = [
        m
        for m in outbox_messages(settings.outbox, tenant_id=user.tenant_id)
        if permissions.may_read_leaf(user, m.leaf)
    ]
    if settings.smtp_url:
        intro = (
            "Scheduled emails go out through your mail server (SMTP_URL). Messages "
            "from before it was set up are kept here."
        )
    else:
        intro = (
            "No mail server is set up (SMTP_URL), so scheduled emails are kept here "
            "instead of being sent. The newest 50 are shown."
        )
    body = (
        dbc.Accordion(
            [_item(m) for m in messages],
            start_collapsed=True,
            always_open=True,
            id=LIST,
        )
        if messages
        else html.Div(
            "No scheduled email yet. Schedule a report from its page; it is "
            "emailed at five past its hour (UTC).",
            className="hub-empty-state",
        )
    )
    return html.Div(
        [
            html.Div(html.A("← Analytics", href="/admin/analytics"), className="small mb-2"),
            html.H1("Outbox", className="h3 mb-1"),
            schedule_form.delivery_alert(delivery_problem(settings), DELIVERY_PROBLEM),
            html.P(intro, className="text-body-secondary"),
            body,
        ],
        id="hub-outbox",
    )


@callback(
    Output(preview_id(ALL), "children"),
    Input(LIST, "active_item"),
    State(preview_id(ALL), "id"),
    prevent_initial_call=True,
)
def draw_previews(opened: list[str] | str | None, slots: list[dict[str, str]]) -> list[Any]:
    """The opened messages' emails as recipients see them (in a sandboxed frame)."""
    user = permissions.require(Leaf.REPORTS_MANAGE)
    keys = set([opened] if isinstance(opened, str) else opened or [])
    outbox = config.load().outbox
    drawn: list[Any] = []
    for slot in slots:
        message = outbox_message(outbox, slot["key"], tenant_id=user.tenant_id) if (
            slot["key"] in keys) else None  # fmt: skip
        if not _readable(user, message):
            drawn.append(no_update)
            continue
        assert message is not None
        drawn.append(html.Iframe(srcDoc=message.html, sandbox="", title=message.subject,
                                 className="hub-mail-preview"))  # fmt: skip
    return drawn
