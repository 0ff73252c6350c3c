"""The registry: every dataset by id, cross-checked once when it loads.

The registry is the one source for the compiler, the validator and the builder's
controls, so the UI can never offer what the server would refuse.
"""

from __future__ import annotations

from typing import assert_never

from datasets.chat import CHAT
from datasets.conversions import CONVERSIONS
from datasets.flow_runs import FLOW_RUNS
from datasets.funnel import FUNNEL
from datasets.model import Agg, Dataset, QueryKind, RowCount
from datasets.operators import FITS
from datasets.plan import SHAPE
from datasets.telemetry import TELEMETRY
from datasets.token_usage import TOKEN_USAGE
from errors import BadRequest, echo


class RegistryError(Exception):
    """A dataset declaration is inconsistent; lists every problem found."""


def _issues(dataset: Dataset) -> list[str]:
    found: list[str] = []
    where = f"dataset {dataset.id}"
    columns = set(dataset.table.c.keys())
    ids = [x.id for x in (*dataset.measures, *dataset.dimensions, *dataset.outputs)]
    duplicates = {x for x in ids if ids.count(x) > 1}
    if duplicates:
        found.append(f"{where}: ids used twice: {sorted(duplicates)}")
    if dataset.time_column not in columns:
        found.append(f"{where}: no time column {dataset.time_column}")
    measure_ids = {m.id for m in dataset.measures}
    for m in dataset.measures:
        if m.agg is Agg.RATIO:
            for part in (m.numerator, m.denominator):
                if part not in measure_ids:
                    found.append(f"{where}: measure {m.id} divides by unknown measure {part}")
        elif (
            m.agg in (Agg.SUM, Agg.AVG, Agg.P95, Agg.COUNT_DISTINCT, Agg.COUNT_WHERE)
            and m.column not in columns
        ):
            found.append(f"{where}: measure {m.id} reads missing column {m.column}")
        if m.agg is Agg.COUNT_WHERE and m.where_value is None:
            found.append(f"{where}: measure {m.id} needs where_value")
        if m.agg is Agg.COUNT and m.column is not None and m.column not in columns:
            found.append(f"{where}: measure {m.id} counts missing column {m.column}")
    found += _kind_issues(dataset, where, columns)
    for f in dataset.filters:
        if f.column not in columns:
            found.append(f"{where}: filter {f.field} reads missing column {f.column}")
        misfits = f.operators - FITS[f.type]
        if misfits:
            names = sorted(o.value for o in misfits)
            found.append(f"{where}: filter {f.field} ({f.type}) cannot use {names}")
    if dataset.daily is not None:
        for name in (c.key for c in dataset.daily.c):
            base = name.removeprefix("count__").removeprefix("sum__")
            if name not in SHAPE and base not in columns:
                found.append(f"{where}: rollup column {name} has no base column {base}")
    for rollup in dataset.grouped:
        for name in (*rollup.groups, rollup.column):
            if name not in columns:
                found.append(f"{where}: rollup {rollup.table.name} reads missing column {name}")
        for name in rollup.groups:
            if name not in rollup.table.c:
                found.append(f"{where}: rollup {rollup.table.name} has no column {name}")
        if not any(m.agg is rollup.agg and m.column == rollup.column for m in dataset.measures):
            found.append(f"{where}: rollup {rollup.table.name} answers no measure")
    if dataset.currency_field is not None and dataset.currency_field not in {
        d.id for d in dataset.dimensions
    }:
        found.append(f"{where}: currency field {dataset.currency_field} is not a dimension")
    return found


def _kind_issues(dataset: Dataset, where: str, columns: set[str]) -> list[str]:
    """What the dataset's kind needs: an aggregate its dimensions and one time dimension;
    a fixed-column kind its output columns and nothing for users to pick."""
    found: list[str] = []
    match dataset.kind:
        case QueryKind.AGGREGATE:
            for d in dataset.dimensions:
                if d.column not in columns:
                    found.append(f"{where}: dimension {d.id} reads missing column {d.column}")
            time_dims = [d for d in dataset.dimensions if d.is_time]
            if len(time_dims) != 1 or time_dims[0].id != "time":
                found.append(f"{where}: needs exactly one time dimension, with id 'time'")
            if dataset.outputs:
                found.append(f"{where}: an aggregate's columns are chosen; it declares no outputs")
            found += _drill_issues(dataset, where)
        case QueryKind.FUNNEL:
            if not dataset.outputs:
                found.append(f"{where}: a {dataset.kind} dataset declares its output columns")
            if dataset.measures or dataset.dimensions or dataset.filters:
                found.append(f"{where}: a {dataset.kind} dataset's columns are fixed; "
                             "it declares no measures, dimensions or filters")  # fmt: skip
            for output in dataset.outputs:
                if (output.role == "measure") is (output.rows is None):
                    found.append(f"{where}: output {output.id} declares drill rows if and "
                                 "only if it is a measure")  # fmt: skip
        case _:
            assert_never(dataset.kind)
    return found


def _drill_issues(dataset: Dataset, where: str) -> list[str]:
    """An aggregate's drill rows hold its breakdown and filter columns under their names,
    and each measure says which of them it is made of."""
    rows = dataset.drill
    if rows is None:
        return [f"{where}: an aggregate declares the rows drill-down lists (drill)"]
    columns = set(rows.table.c.keys())
    named = [("time column", rows.time_column), ("key", rows.key), ("present", rows.present)]
    named += [(f"field {f.id}", f.id) for f in rows.fields if f.expression is None]
    named += [(f"dimension {d.id}", d.column) for d in dataset.dimensions if not d.is_time]
    named += [(f"filter {f.field}", f.column) for f in dataset.filters]
    found = [
        f"{where}: drill rows {rows.table.name} have no column {column} ({what})"
        for what, column in named
        if column is not None and column not in columns
    ]
    dimension_ids = {d.id for d in dataset.dimensions}
    computed = {f.id for f in rows.fields if f.expression is not None}
    for f in rows.fields:
        if f.currency_column is not None and f.currency_column not in dimension_ids:
            found.append(f"{where}: drill field {f.id} takes its currency from no dimension")
    for m in dataset.measures:
        if m.rows is None:
            found.append(f"{where}: measure {m.id} declares no drill rows")
        elif m.rows.column is not None and m.rows.column not in columns | computed:
            found.append(f"{where}: measure {m.id} drills by missing column {m.rows.column}")
        elif m.rows.count is RowCount.DISTINCT and m.rows.column is None:
            found.append(f"{where}: measure {m.id} counts distinct values of no column")
    return found


def _load(*datasets: Dataset) -> dict[str, Dataset]:
    ids = [d.id for d in datasets]
    problems = [f"dataset id {x} used twice" for x in set(ids) if ids.count(x) > 1]
    for dataset in datasets:
        problems.extend(_issues(dataset))
    if problems:
        raise RegistryError("; ".join(problems))
    return {d.id: d for d in datasets}


DATASETS: dict[str, Dataset] = _load(CONVERSIONS, CHAT, TOKEN_USAGE, FLOW_RUNS, TELEMETRY, FUNNEL)


def dataset_named(dataset_id: object) -> Dataset:
    """The dataset with this id; a 400 naming the field for anything else (a hand-made
    request can send any value where a dataset id belongs)."""
    dataset = DATASETS.get(dataset_id) if isinstance(dataset_id, str) else None
    if dataset is None:
        raise BadRequest(f"dataset: unknown dataset '{echo(dataset_id)}'")
    return dataset
