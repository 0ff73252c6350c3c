"""The report page's History panel: every saved version of the report, newest first, with
who saved it, when, and what it changed in words (datasets.diff); any two versions
compared; and Restore, which saves an old version as the newest (reporting.restore).

Reading the history needs what reading the report needs (permissions.readable_report);
Restore needs `reports.manage` too (permissions.manageable_report, then the save's own
checks), and is offered only to those who have it.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, html, no_update

import permissions
from access import HubUser
from components import ids
from datasets.diff import report_changes
from db import engines
from db.report_versions import ReportVersion, list_versions
from errors import sentence
from reporting import restore

PANEL = "report-history"
LIST = "history-list"
FROM = "history-from"
TO = "history-to"
DIFF = "history-diff"
FEEDBACK = "history-feedback"
RESTORED = "history-restored"
SHOWN = 10  # the newest versions listed; older ones fold away


def restore_id(version: object) -> dict[str, object]:
    return {"type": "history-restore", "version": version}


def _author(version: ReportVersion) -> str:
    if version.saved_by is not None:
        return version.saved_by
    return "Provisioned" if version.version == 1 else "A former user"


def _changes(version: ReportVersion, before: ReportVersion | None) -> str:
    if before is None:
        return "Created."
    lines = report_changes(before.state, version.state)
    text = "; ".join(lines) if lines else "no change"
    return sentence(text) + "."


def _entry(version: ReportVersion, before: ReportVersion | None, *, current: bool,
           may_restore: bool) -> html.Li:  # fmt: skip
    head = [
        html.Span(f"Version {version.version}", className="fw-semibold"),
        f" · {version.saved_at:%Y-%m-%d %H:%M} UTC · {_author(version)}",
    ]
    if version.restored_from is not None:
        head.append(f" · restored version {version.restored_from}")
    if current:
        head.append(dbc.Badge("Current", color="secondary", className="ms-2"))
    action = (
        dbc.Button("Restore", id=restore_id(version.version), size="sm", color="secondary",
                   outline=True, className="ms-auto",
                   title=f"Save version {version.version} as the newest version")
        if may_restore and not current
        else None
    )  # fmt: skip
    return html.Li(
        html.Div([
            html.Div([html.Div(head, className="small"),
                      html.Div(_changes(version, before), className="small text-body-secondary")]),
            action,
        ], className="d-flex align-items-start gap-2"),
        className="list-group-item", **{"data-version": str(version.version)},
    )  # fmt: skip


def _entries(versions: list[ReportVersion], *, may_restore: bool) -> list[html.Li]:
    return [
        _entry(v, versions[i + 1] if i + 1 < len(versions) else None, current=i == 0,
               may_restore=may_restore)
        for i, v in enumerate(versions)
    ]  # fmt: skip


def compare_text(versions: list[ReportVersion], older: object, newer: object) -> str:
    """What changed from version `older` to version `newer`, as one sentence."""
    by_number = {str(v.version): v for v in versions}
    old, new = by_number.get(str(older)), by_number.get(str(newer))
    if old is None or new is None:
        return "Choose two versions."
    if old.version == new.version:
        return "Choose two different versions."
    lines = report_changes(old.state, new.state)
    if not lines:
        return f"Versions {old.version} and {new.version} are the same."
    return f"From version {old.version} to version {new.version}: " + "; ".join(lines) + "."


def restored_notice(versions: list[ReportVersion], restored: str) -> dbc.Alert | None:
    """After a restore (the page's `?restored=N`): says so while the newest version is
    still that restore."""
    newest = versions[0] if versions else None
    if newest is None or newest.restored_from is None or restored != str(newest.restored_from):
        return None
    return dbc.Alert(f"Version {newest.restored_from} was restored as version {newest.version}.",
                     color="success", dismissable=True, className="py-2", id=RESTORED)  # fmt: skip


def report_versions(user: HubUser, report_id: int) -> list[ReportVersion]:
    return list_versions(engines.default().web, tenant_id=user.tenant_id, report_id=report_id)


def history_panel(versions: list[ReportVersion], *, may_restore: bool) -> dbc.Card:
    """The panel, for anyone who may read the report; Restore when `may_restore`."""
    entries = _entries(versions, may_restore=may_restore)
    listed: list = [html.Ul(entries[:SHOWN], className="list-group mb-2")]
    if len(entries) > SHOWN:
        listed.append(html.Details([
            html.Summary(f"{len(entries) - SHOWN} older versions", className="small"),
            html.Ul(entries[SHOWN:], className="list-group mt-2"),
        ], className="mb-2"))  # fmt: skip
    options = [{"label": f"Version {v.version}", "value": str(v.version)} for v in versions]
    newer = options[0]["value"] if options else None
    older = options[1]["value"] if len(options) > 1 else newer
    compare = dbc.Row(
        [
            dbc.Col(dbc.InputGroup([
                html.Label("Compare", htmlFor=FROM, className="input-group-text"),
                dbc.Select(id=FROM, options=options, value=older)], size="sm"), md=3),
            dbc.Col(dbc.InputGroup([
                html.Label("with", htmlFor=TO, className="input-group-text"),
                dbc.Select(id=TO, options=options, value=newer)], size="sm"), md=3),
            dbc.Col(html.Div(compare_text(versions, older, newer), id=DIFF, role="status",
                             className="small"), md=6),
        ],
        className="g-2 align-items-center",
    )  # fmt: skip
    return dbc.Card(
        [
            dbc.CardHeader(html.H2("History", className="h6 mb-0")),
            dbc.CardBody([
                html.Div(listed, id=LIST),
                compare if len(versions) > 1 else None,
                html.Div(id=FEEDBACK, role="status", className="mt-2"),
            ]),
        ],
        id=PANEL, className="mt-3",
    )  # fmt: skip


@callback(
    Output(DIFF, "children"),
    Input(FROM, "value"),
    Input(TO, "value"),
    State(ids.REPORT_ID, "data"),
    prevent_initial_call=True,
)
def compare(older: str | None, newer: str | None, report_id: int) -> str:
    user, report = permissions.readable_report(report_id)
    return compare_text(report_versions(user, report.id), older, newer)


@callback(
    Output(ids.URL, "href", allow_duplicate=True),
    Output(FEEDBACK, "children"),
    Input(restore_id(ALL), "n_clicks"),
    State(ids.REPORT_ID, "data"),
    prevent_initial_call=True,
)
def restore_version(clicks: list[int | None], report_id: int) -> tuple[object, object]:
    user, report = permissions.manageable_report(report_id)
    trigger = ctx.triggered_id
    if not any(clicks) or not isinstance(trigger, dict):  # the buttons arriving
        return no_update, no_update
    version = trigger.get("version")
    if not isinstance(version, int):
        return no_update, no_update
    saved = restore(user, report.id, version)
    if saved.report_id is None:
        text = "; ".join(message for _path, message in saved.issues)
        return no_update, dbc.Alert(f"Could not restore version {version}: {text}",
                                    color="danger", className="py-2 small mb-0")  # fmt: skip
    return f"/admin/analytics/reports/{report.id}?restored={version}", no_update
