"""/admin/analytics/reports/new — the builder on a blank definition, a template, or a
definition given as JSON in ?definition= (a drill-down's "open as a filtered report").

Named so it registers before pages/report.py, whose path template would also match.
"""

from __future__ import annotations

import json
from typing import Any

import dash
from dash import html

import permissions
from access import Leaf
from components import builder, shell
from datasets.registry import DATASETS
from datasets.templates import BY_ID

dash.register_page(__name__, path="/admin/analytics/reports/new",
                   title="New report · Analytics Hub")  # fmt: skip

BLANK = {"dataset": "conversions", "measures": ["conversions"],
         "dimensions": [{"id": "time", "grain": "day"}], "date_range": {"preset": "30d"},
         "viz": "line"}  # fmt: skip


MAX_DEFINITION_CHARS = 8000  # a drill-down's "open as a filtered report" link


def _given(text: str) -> dict[str, Any] | None:
    """A definition passed as JSON in ?definition= (a drill-down's link), or None when it
    is not one of a known dataset (the builder then opens blank); its fields are validated
    as any edit's are."""
    if not text or len(text) > MAX_DEFINITION_CHARS:
        return None
    try:
        raw = json.loads(text)
    except ValueError:
        return None
    return raw if isinstance(raw, dict) and raw.get("dataset") in DATASETS else None


def layout(template: str = "", definition: str = "", **_query: str) -> html.Div:
    """The builder on ?definition= (validated as any edit is, when previewed), a template,
    or a blank definition; nothing is saved until the user saves."""
    user = permissions.page_user(Leaf.REPORTS_MANAGE)
    if user is None:
        return shell.forbidden(Leaf.REPORTS_MANAGE, "Building reports")
    if (given := _given(definition)) is not None:
        if not permissions.may_manage_dataset(user, given["dataset"]):
            return shell.forbidden(permissions.dataset_leaf(given["dataset"]), "This report")
        return builder.layout(user, definition=given, heading="New report from a drill-down")
    chosen = BY_ID.get(template)
    dataset = chosen.definition["dataset"] if chosen else ""
    if chosen is not None and not permissions.may_manage_dataset(user, dataset):
        leaf = permissions.dataset_leaf(dataset)
        return shell.forbidden(leaf, f"The {chosen.name} template")
    heading = f"New report from “{chosen.name}”" if chosen else "New report"
    return builder.layout(user, definition=chosen.definition if chosen else BLANK, heading=heading,
                          name=chosen.name if chosen else "")  # fmt: skip
