"""/admin/analytics/reports/new — the builder on a blank definition or a template.

Named so it registers before pages/report.py, whose path template would also match.
"""

from __future__ import annotations

import dash
from dash import html

import permissions
from access import Leaf
from components import builder, shell
from datasets.templates import BY_ID

dash.register_page(__name__, path="/admin/analytics/reports/new",
                   title="New report · Analytics Hub")  # fmt: skip

BLANK = {"dataset": "conversions", "measures": ["conversions"],
         "dimensions": [{"id": "time", "grain": "day"}], "date_range": {"preset": "30d"},
         "viz": "line"}  # fmt: skip


def layout(template: str = "", **_query: str) -> html.Div:
    user = permissions.page_user(Leaf.REPORTS_MANAGE)
    if user is None:
        return shell.forbidden("Building reports needs comerix.insights.reports.manage.")
    chosen = BY_ID.get(template)
    dataset = chosen.definition["dataset"] if chosen else ""
    if chosen is not None and not permissions.may_manage_dataset(user, dataset):
        leaf = permissions.dataset_leaf(dataset)
        return shell.forbidden(f"The {chosen.name} template needs {leaf.value}.")
    heading = f"New report from “{chosen.name}”" if chosen else "New report"
    definition = chosen.definition if chosen else BLANK
    return builder.layout(user, definition=definition, heading=heading,
                          name=chosen.name if chosen else "")  # fmt: skip
