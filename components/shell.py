"""The page shell: top bar with tenant, user and sign-out, the page, an error toast."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, clientside_callback, dcc, html

import access
import login
from access import Leaf
from components import ids

NAV_TOGGLER, NAV_COLLAPSE = "hub-nav-toggler", "hub-nav-collapse"


def _sections() -> dbc.Nav:
    user = access.current()
    if user is None:
        return dbc.Nav()
    sections = [
        (Leaf.ANALYTICS, "Reports", "/admin/analytics"),
        (Leaf.ANALYTICS, "Dashboard", "/admin/analytics/dashboard"),
        (Leaf.GOALS, "Goals", "/admin/insights/goals"),
        (Leaf.TELEMETRY, "Events", "/admin/insights/events"),
        (Leaf.REPORTS_MANAGE, "Outbox", "/admin/analytics/outbox"),
    ]
    links = [dbc.NavLink(label, href=href, active="exact")
             for leaf, label, href in sections if user.may(leaf)]  # fmt: skip
    return dbc.Nav(links, navbar=True, className="me-auto", id="hub-sections")


def _user_menu() -> dbc.Nav:
    user = access.current()
    if user is None:
        return dbc.Nav()
    return dbc.Nav(
        [
            html.Span(
                [html.Span(user.name, className="fw-semibold"), f" · {user.tenant_name}"],
                className="navbar-text text-light me-3",
                id="hub-user",
            ),
            # Light, dark or the system's: assets/theme.js handles it, per user.
            html.Button(
                "Theme: system",
                type="button",
                id="hub-theme-toggle",
                className="btn btn-outline-light btn-sm me-2",
                **{"data-user": str(user.id), "aria-label": "Theme: system (change)"},
            ),
            # A form, not a link: signing out is a POST carrying the session's CSRF token.
            html.Form(
                [
                    dcc.Input(type="hidden", name="csrf_token", value=login.csrf_token()),
                    html.Button(
                        "Sign out",
                        type="submit",
                        id="hub-sign-out",
                        className="btn btn-outline-light btn-sm",
                    ),
                ],
                method="post",
                action="/logout",
                className="m-0",
            ),
        ],
        className="ms-auto align-items-center",
    )


def _toggler() -> html.Button:
    """Shows and hides the sections and the user menu below the navbar's `md` breakpoint."""
    return html.Button(
        html.Span(className="navbar-toggler-icon"),
        id=NAV_TOGGLER,
        type="button",
        className="navbar-toggler",
        title="Menu",
        **{"aria-label": "Menu", "aria-controls": NAV_COLLAPSE, "aria-expanded": "false"},
    )


def layout() -> html.Div:
    """Rendered per request, so the bar shows who is signed in."""
    return html.Div(
        [
            dcc.Location(id=ids.URL),
            dbc.Navbar(
                dbc.Container(
                    [
                        dbc.NavbarBrand("Analytics Hub", href="/admin/analytics"),
                        _toggler(),
                        dbc.Collapse(
                            [_sections(), _user_menu()],
                            id=NAV_COLLAPSE,
                            is_open=False,
                            navbar=True,
                        ),
                    ],
                    fluid=True,
                ),
                color="dark",
                dark=True,
                expand="md",
                className="mb-4",
            ),
            dbc.Container(dash.page_container, fluid=True, className="hub-page"),
            dbc.Toast(
                id=ids.ERROR_TOAST,
                header="Something went wrong",
                icon="danger",
                is_open=False,
                dismissable=True,
                duration=8000,
                className="hub-error-toast",
            ),
        ]
    )


# The toggler opens and closes the menu; going to another page closes it.
clientside_callback(
    f"""function (_clicks, _path, open) {{
        const toggled = dash_clientside.callback_context.triggered_id === "{NAV_TOGGLER}";
        const next = toggled ? !open : false;
        return [next, String(next)];
    }}""",
    Output(NAV_COLLAPSE, "is_open"),
    Output(NAV_TOGGLER, "aria-expanded"),
    Input(NAV_TOGGLER, "n_clicks"),
    Input(ids.URL, "pathname"),
    State(NAV_COLLAPSE, "is_open"),
    prevent_initial_call=True,
)


def forbidden(leaf: Leaf, subject: str) -> html.Div:
    """Why `subject` ("The dashboard") is refused, naming the missing leaf in words, and
    a way back: to the hub, to sign in, or (without the hub itself) as someone else."""
    user = access.current()
    if user is None:
        back = html.A("Sign in", href="/login", id="hub-forbidden-back")
    elif user.may(Leaf.ANALYTICS):
        back = html.A("Back to Analytics", href=login.HOME, id="hub-forbidden-back")
    else:
        back = html.A("Sign in as someone else", href="/logout", id="hub-forbidden-back")
    return html.Div(
        [
            html.H1("Access denied", className="h4"),
            html.P(
                f"{subject} needs the permission “{access.LABELS[leaf]}”, which your role "
                "does not include. An administrator can add it to your role.",
                className="text-body-secondary",
                id="hub-forbidden-reason",
            ),
            back,
        ],
        className="hub-empty-state",
        id="hub-forbidden",
    )


def not_found(title: str, text: str) -> html.Div:
    return html.Div(
        [
            html.H1(title, className="h4"),
            html.P(text),
            html.A("Back to Analytics", href="/admin/analytics"),
        ],
        className="hub-empty-state",
        id="hub-not-found",
    )
