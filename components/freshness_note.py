"""The freshness line and caveats of a report's dataset (report page and dashboard cards)."""

from __future__ import annotations

from typing import Any

from dash import html

from datasets.freshness import describe_freshness
from datasets.registry import DATASETS
from db import engines


def freshness_note(dataset_id: str, *, note_id: str | dict[str, Any]) -> html.Div | None:
    """datasets.freshness' line and the dataset's notes, small under the result."""
    dataset = DATASETS.get(dataset_id)
    if dataset is None:
        return None
    line, notes = describe_freshness(dataset, engines.default().web)
    return html.Div(
        [html.Div(line, className="hub-freshness"),
         html.Ul([html.Li(note) for note in notes], className="mb-0 ps-3") if notes else None],
        className="small text-body-secondary mt-2", id=note_id,
    )  # fmt: skip
