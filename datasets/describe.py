"""A definition in words, for the XLSX "About" sheet, emails and the UI."""

from __future__ import annotations

import datetime as dt
from typing import assert_never

from datasets import compare
from datasets.model import AggregateQuery, Dataset, Definition, ExplicitRange, FunnelQuery
from datasets.operators import HUMAN
from datasets.plan import plan
from datasets.registry import DATASETS

PRESET_WORDS = {
    "today": "Today",
    "yesterday": "Yesterday",
    "mtd": "Month to date",
    "qtd": "Quarter to date",
    "ytd": "Year to date",
}


def describe_range(definition: Definition, start: dt.date, end: dt.date) -> str:
    window = start.isoformat() if start == end else f"{start.isoformat()} to {end.isoformat()}"
    if isinstance(definition.date_range, ExplicitRange):
        return f"{window} (UTC)"
    preset = definition.date_range.preset.value
    words = PRESET_WORDS.get(preset) or f"Last {preset.removesuffix('d')} days"
    return f"{words}: {window} (UTC)"


def _aggregate_pairs(dataset: Dataset, definition: AggregateQuery) -> list[tuple[str, str]]:
    measures = ", ".join(dataset.measure(m).label for m in definition.measures)
    breakdowns = ", ".join(
        f"{dataset.dimension(r.id).label} by {r.grain.value}"
        if r.grain
        else dataset.dimension(r.id).label
        for r in definition.dimensions
    )
    filters = "; ".join(
        f"{dataset.filter(c.field).label} {HUMAN[c.op]} "
        + (", ".join(str(v) for v in c.value) if isinstance(c.value, list) else str(c.value))
        for c in definition.filters
    )
    return [
        ("Measures", measures),
        ("Breakdowns", breakdowns or "None"),
        ("Filters", filters or "None"),
        ("Computed from", plan(dataset, definition).in_words(dataset)),
    ]


def describe(
    definition: Definition, start: dt.date, end: dt.date, *, flow_name: str | None = None
) -> list[tuple[str, str]]:
    """(label, text) pairs: dataset, what the kind computes from (an aggregate's measures,
    breakdowns, filters and where each measure is read from; the funnel's flow), date
    range."""
    dataset = DATASETS[definition.dataset]
    match definition:
        case AggregateQuery():
            middle = _aggregate_pairs(dataset, definition)
        case FunnelQuery():
            middle = [("Flow", flow_name or f"Flow {definition.flow_id}")]
        case _:
            assert_never(definition)
    return [
        ("Dataset", dataset.label),
        *middle,
        ("Date range", describe_range(definition, start, end)),
        *([("Compared with", compared_with(definition, start, end))] if definition.compare else []),
    ]


def compared_with(definition: Definition, start: dt.date, end: dt.date) -> str:
    """The window a compared definition's numbers are compared with, in words."""
    assert definition.compare is not None
    by = compare.shift(definition, definition.compare, start, end)
    return compare.window_words(definition.compare, by.back(start), by.back(end))
