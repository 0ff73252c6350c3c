"""Any unknown path under the app."""

import dash
from dash import html

dash.register_page(__name__, title="Not found · Analytics Hub")

layout = html.Div(
    [
        html.H1("Page not found", className="h4"),
        html.P("There is nothing at this address."),
        html.A("Back to Analytics", href="/admin/analytics"),
    ],
    className="hub-empty-state",
    id="hub-not-found",
)
