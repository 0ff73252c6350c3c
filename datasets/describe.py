"""A definition in words, for the XLSX "About" sheet, emails and the UI."""

from __future__ import annotations

import datetime as dt

from datasets.model import Definition, ExplicitRange
from datasets.operators import HUMAN
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


def describe(
    definition: Definition, start: dt.date, end: dt.date, *, flow_name: str | None = None
) -> list[tuple[str, str]]:
    """(label, text) pairs: dataset, measures, breakdowns, filters, date range."""
    dataset = DATASETS[definition.dataset]
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
    pairs = [("Dataset", dataset.label)]
    if dataset.is_funnel:
        pairs.append(("Flow", flow_name or f"Flow {definition.flow_id}"))
    else:
        pairs.append(("Measures", measures))
        pairs.append(("Breakdowns", breakdowns or "None"))
        pairs.append(("Filters", filters or "None"))
    pairs.append(("Date range", describe_range(definition, start, end)))
    return pairs
