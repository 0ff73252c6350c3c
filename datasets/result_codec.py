"""A run Result as JSON text and back, losing nothing: what the result cache stores.

JSON, never pickle: a cache entry is data, so whoever can write the cache's Redis can
at worst change a number, never run code. Cell values keep their Python types through a
tagged form — Decimal as its exact digits, dates and timestamps as ISO text — so a
cached result formats, sorts and exports exactly like a fresh one. The definition and
mode are not stored: they are part of the cache key, so the caller supplies them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pandas as pd

from datasets.model import Column, Definition, Grain, Mode
from datasets.run import Result

# Tags of the values JSON has no type for; any other non-JSON value refuses to encode.
DECIMAL, DATE, TIMESTAMP = "$decimal", "$date", "$timestamp"
PARSERS: dict[str, Callable[[str], Any]] = {
    DECIMAL: Decimal,
    DATE: dt.date.fromisoformat,
    TIMESTAMP: dt.datetime.fromisoformat,
}


def _cell(value: Any) -> Any:
    match value:
        case None | bool() | int() | float() | str():
            return value
        case Decimal():
            return {DECIMAL: str(value)}
        case dt.datetime():  # before date: a datetime is a date
            return {TIMESTAMP: value.isoformat()}
        case dt.date():
            return {DATE: value.isoformat()}
        case _:
            raise TypeError(f"a result cell of type {type(value).__name__} cannot be stored")


def _value(cell: Any) -> Any:
    if not isinstance(cell, dict):
        return cell
    ((tag, text),) = cell.items()
    return PARSERS[tag](text)


def _column(raw: dict[str, Any]) -> Column:
    grain = raw.get("grain")
    return Column(**{**raw, "grain": Grain(grain) if grain else None})


def dumps(result: Result) -> str:
    """The result's frame, columns, truncation, timing, range and ran_at as JSON text;
    TypeError for a cell no tag covers."""
    return json.dumps(
        {
            "columns": [dataclasses.asdict(c) for c in result.columns],
            "rows": [[_cell(v) for v in row] for row in result.frame.itertuples(index=False)],
            "truncated": result.truncated,
            "elapsed_ms": result.elapsed_ms,
            "start": result.start.isoformat(),
            "end": result.end.isoformat(),
            "ran_at": result.ran_at.isoformat(),
            "compared": [d.isoformat() for d in result.compared] if result.compared else None,
        },
        separators=(",", ":"),
    )


def loads(text: str | bytes, *, definition: Definition, mode: Mode) -> Result:
    """The Result `dumps` wrote, for the definition and mode its key names."""
    raw = json.loads(text)
    columns = tuple(_column(c) for c in raw["columns"])
    frame = pd.DataFrame(
        [tuple(_value(v) for v in row) for row in raw["rows"]],
        columns=[c.id for c in columns],
        dtype=object,
    )
    return Result(
        definition=definition,
        mode=mode,
        frame=frame,
        columns=columns,
        truncated=bool(raw["truncated"]),
        elapsed_ms=float(raw["elapsed_ms"]),
        start=dt.date.fromisoformat(raw["start"]),
        end=dt.date.fromisoformat(raw["end"]),
        ran_at=dt.datetime.fromisoformat(raw["ran_at"]),
        compared=_window(raw.get("compared")),
    )


def _window(raw: list[str] | None) -> tuple[dt.date, dt.date] | None:
    if not raw:
        return None
    start, end = raw
    return dt.date.fromisoformat(start), dt.date.fromisoformat(end)
