"""/admin/insights/goals — Insights → Goals: the tenant's goals and their recent
completions (`comerix.insights.goals`); creating and editing them needs
`comerix.insights.goals.manage`, checked again in every callback."""

from __future__ import annotations

import time
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, clientside_callback, dcc, html, no_update

import permissions
from access import HubUser, Leaf
from components import shell
from components.card_table import CARD_TABLE, cell
from db import engines
from db.goals import RECENT_DAYS, RULES, Goal, list_goals, parse_goal, save_goal
from errors import BadGoal

dash.register_page(__name__, path="/admin/insights/goals", title="Goals · Analytics Hub")

LIST = "goals-list"
VERSION = "goals-version"
MODAL = "goal-modal"
NEW = "goal-new"
EDITING = "goal-editing"  # the id being edited, or None for a new goal
SAVE = "goal-save"
CANCEL = "goal-cancel"
FIELDS = ("name", "event_name", "value_rule", "fixed_value", "value_property",
          "default_currency", "active")  # fmt: skip


def field_id(field: str) -> str:
    return f"goal-{field.replace('_', '-')}"


def error_id(field: str) -> str:
    return f"goal-error-{field.replace('_', '-')}"


def edit_id(goal_id: Any) -> dict[str, Any]:
    return {"type": "goal-edit", "goal": goal_id}


def _table(user: HubUser) -> Any:
    goals = list_goals(engines.default().web, tenant_id=user.tenant_id)
    if not goals:
        return html.Div("No goals yet." + (" Create one to start counting conversions."
                                           if user.may(Leaf.GOALS_MANAGE) else ""),
                        className="hub-empty-state")  # fmt: skip
    manage = user.may(Leaf.GOALS_MANAGE)
    head = ["Goal", "Completed by event", "Value", "Status", f"Last {RECENT_DAYS} days",
            "Last completion"] + (["Actions"] if manage else [])  # fmt: skip
    rows = [
        html.Tr([
            html.Td(g.name, className="fw-semibold"),
            cell(head[1], html.Code(g.event_name)),
            cell(head[2], g.value_text()),
            cell(head[3], dbc.Badge("Active", color="success") if g.active
                 else dbc.Badge("Paused", color="secondary")),
            cell(head[4], f"{g.completions:,}", className="text-md-end"),
            cell(head[5], g.last_completed_at.strftime("%Y-%m-%d %H:%M UTC")
                 if g.last_completed_at else "—"),
            *([html.Td(dbc.Button("Edit", id=edit_id(g.id), size="sm", color="link",
                                  className="p-0"))] if manage else []),
        ])
        for g in goals
    ]  # fmt: skip
    return dbc.Table([html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(rows)],
                     hover=True, responsive=True, className=f"mb-0 {CARD_TABLE}",
                     id="goals-table")  # fmt: skip


def _field(label: str, control: Any, field: str, box: bool = False) -> html.Div:
    return html.Div(
        [dbc.Label(label, html_for=field_id(field), className="fw-semibold small"), control,
         html.Div(id=error_id(field), className="invalid-feedback d-block", role="alert")],
        className="mb-3", **({"id": f"{field_id(field)}-box"} if box else {}),
    )  # fmt: skip


def _modal() -> dbc.Modal:
    form = [
        _field("Name", dbc.Input(id=field_id("name"), maxLength=100), "name"),
        _field("Telemetry event that completes it", dbc.Input(
            id=field_id("event_name"), placeholder="order_placed"), "event_name"),
        _field("Value of a completion", dbc.RadioItems(
            id=field_id("value_rule"), value="none", inline=True,
            options=[{"label": text, "value": rule} for rule, text in RULES.items()]),
            "value_rule"),
        _field("Amount", dbc.Input(id=field_id("fixed_value"), type="number", min=0.01,
                                   step=0.01), "fixed_value", box=True),
        _field("Event property holding the amount", dbc.Input(
            id=field_id("value_property"), placeholder="amount"), "value_property", box=True),
        _field("Currency", dbc.Input(id=field_id("default_currency"), value="USD",
                                     maxLength=3), "default_currency"),
        _field("Status", dbc.Switch(id=field_id("active"), label="Active: count completions",
                                    value=True), "active"),
    ]  # fmt: skip
    return dbc.Modal(
        [dbc.ModalHeader(dbc.ModalTitle("Goal", id="goal-modal-title")),
         dbc.ModalBody(form),
         dbc.ModalFooter([dbc.Button("Cancel", id=CANCEL, color="secondary", outline=True),
                          dbc.Button("Save goal", id=SAVE, color="primary")])],
        id=MODAL, is_open=False,
    )  # fmt: skip


def layout(**_query: str) -> html.Div:
    user = permissions.page_user(Leaf.GOALS)
    if user is None:
        return shell.forbidden(Leaf.GOALS, "The Goals page")
    manage = user.may(Leaf.GOALS_MANAGE)
    return html.Div(
        [
            dcc.Store(id=VERSION, data=0),
            dcc.Store(id=EDITING, data=None),
            html.Div(
                [html.Div([html.H1("Goals", className="h3 mb-1"),
                           html.P("A goal is completed each time its telemetry event happens "
                                  "in a conversation; completions feed the Conversions dataset.",
                                  className="text-body-secondary mb-0")]),
                 dbc.Button("New goal", id=NEW, color="primary") if manage else None],
                className="d-flex justify-content-between align-items-start gap-3 mb-3",
            ),
            dbc.Card(dbc.CardBody(html.Div(_table(user), id=LIST))),
            _modal() if manage else None,
        ],
        id="hub-goals",
    )  # fmt: skip


# Which value fields show is UI only: no request to the server.
clientside_callback(
    "function (rule) { return [rule !== 'fixed', rule !== 'property']; }",
    Output(field_id("fixed_value") + "-box", "hidden"),
    Output(field_id("value_property") + "-box", "hidden"),
    Input(field_id("value_rule"), "value"),
)


@callback(
    Output(MODAL, "is_open"),
    Output(EDITING, "data"),
    Output("goal-modal-title", "children"),
    *(Output(field_id(f), "value") for f in FIELDS),
    *(Output(error_id(f), "children", allow_duplicate=True) for f in FIELDS),
    Input(NEW, "n_clicks"),
    Input(edit_id(ALL), "n_clicks"),
    Input(CANCEL, "n_clicks"),
    prevent_initial_call=True,
)
def open_form(*_clicks: Any) -> tuple[Any, ...]:
    user = permissions.require(Leaf.GOALS_MANAGE)
    trigger, value = dash.ctx.triggered_id, dash.ctx.triggered[0]["value"]
    if trigger is None or not value:  # components arriving, not a click
        return (no_update,) * (3 + 2 * len(FIELDS))
    cleared = tuple("" for _ in FIELDS)
    if trigger == CANCEL:
        return (False, no_update, no_update, *(no_update for _ in FIELDS), *cleared)
    if trigger == NEW:
        blank = Goal(None, "", "", True, "none", None, None, "USD")
        return (True, None, "New goal", *_values(blank), *cleared)
    goal_id = trigger["goal"]
    goal = next((g for g in list_goals(engines.default().web, tenant_id=user.tenant_id)
                 if g.id == goal_id), None)  # fmt: skip
    if goal is None:
        return (no_update,) * (3 + 2 * len(FIELDS))
    return (True, goal_id, f"Edit “{goal.name}”", *_values(goal), *cleared)


def _values(goal: Goal) -> tuple[Any, ...]:
    return (goal.name, goal.event_name, goal.value_rule,
            float(goal.fixed_value) if goal.fixed_value is not None else None,
            goal.value_property or "", goal.default_currency, goal.active)  # fmt: skip


@callback(
    Output(MODAL, "is_open", allow_duplicate=True),
    Output(VERSION, "data"),
    *(Output(error_id(f), "children", allow_duplicate=True) for f in FIELDS),
    Input(SAVE, "n_clicks"),
    State(EDITING, "data"),
    *(State(field_id(f), "value") for f in FIELDS),
    prevent_initial_call=True,
)
def save(clicks: int | None, editing: int | None, *values: Any) -> tuple[Any, ...]:
    user = permissions.require(Leaf.GOALS_MANAGE)
    if not clicks:
        return (no_update,) * (2 + len(FIELDS))
    raw = dict(zip(FIELDS, values, strict=True))
    try:
        save_goal(engines.default().web, tenant_id=user.tenant_id,
                  goal=parse_goal(raw, goal_id=editing))  # fmt: skip
    except BadGoal as bad:
        errors = [bad.messages_for(f) for f in FIELDS]
        return (True, no_update, *errors)
    return (False, time.time(), *("" for _ in FIELDS))


@callback(Output(LIST, "children"), Input(VERSION, "data"), prevent_initial_call=True)
def refresh(_version: float) -> Any:
    return _table(permissions.require(Leaf.GOALS))
