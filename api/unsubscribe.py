"""The unsubscribe link of a scheduled email, served without signing in.

GET  /unsubscribe?token=…  a page naming the address and report, with one button
POST /unsubscribe          removes that address from that schedule (the button, or a mail
                           client's one-click unsubscribe, RFC 8058) and records it

The signed token (report_email.read_unsubscribe) is the only credential: it names the
tenant, report, schedule and address, so it can remove nothing else, and GET changes
nothing (mail scanners follow links).
"""

from __future__ import annotations

import datetime as dt
from html import escape

import flask

import config
from db import engines
from db.reports import get_report
from db.schedules import unsubscribe
from errors import BadRequest
from report_email import UNSUBSCRIBE_PATH, Unsubscribe, read_unsubscribe

blueprint = flask.Blueprint("unsubscribe_api", __name__)


def _page(title: str, body: str = "", status: int = 200) -> flask.Response:
    head = f"<head><meta charset='utf-8'><title>{escape(title)}</title></head>"
    html = f"<!doctype html><html lang='en'>{head}<body><main><h1>{escape(title)}</h1>{body}"
    html += "</main></body></html>"
    response = flask.make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _token() -> tuple[str, Unsubscribe]:
    token = str(flask.request.values.get("token", ""))
    settings = config.load()
    return token, read_unsubscribe(token, secret=settings.secret_key(), now=dt.datetime.now(dt.UTC))


def _report_name(who: Unsubscribe) -> str:
    report = get_report(engines.default().web, tenant_id=who.tenant_id, report_id=who.report_id)
    return report.name if report else "a report that no longer exists"


@blueprint.errorhandler(BadRequest)
def _bad_link(error: BadRequest) -> flask.Response:
    """A person followed a link: a page says what went wrong, not JSON."""
    return _page(error.public_message, status=error.status)


@blueprint.get(UNSUBSCRIBE_PATH)
def confirm() -> flask.Response:
    token, who = _token()
    form = (f"<p>Stop emailing “{escape(_report_name(who))}” to {escape(who.address)}?</p>"
            f"<form method='post'><input type='hidden' name='token' value='{escape(token)}'>"
            "<button type='submit'>Unsubscribe</button></form>")  # fmt: skip
    return _page("Unsubscribe", form)


@blueprint.post(UNSUBSCRIBE_PATH)
def remove() -> flask.Response:
    _, who = _token()
    removed = unsubscribe(engines.default().web, tenant_id=who.tenant_id,
                          report_id=who.report_id, schedule_id=who.schedule_id,
                          address=who.address)  # fmt: skip
    what = f"{escape(who.address)} no longer receives “{escape(_report_name(who))}” by email."
    if not removed:  # already removed, or the schedule this link belongs to is gone
        what = f"{escape(who.address)} is not on this email schedule any more."
    return _page("Unsubscribed", f"<p>{what}</p>")
