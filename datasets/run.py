"""run_report: the only IO of the semantic layer.

Compiles the definition, runs it in one transaction under the tenant's row-level
security with a statement timeout, fetches at most the mode's row cap plus one (to know
whether it was truncated) and returns a DataFrame with typed column metadata. A compared
definition runs both windows in one statement (one round trip), each through the same
compiler, and gets each measure's previous value and change joined in
(`datasets.compare`). Callers run reports through the result cache,
datasets.cache.run_cached, which calls this.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, assert_never

import pandas as pd
import sqlalchemy as sa
from psycopg.errors import QueryCanceled
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from datasets import compare
from datasets.compile import POSITION, WINDOW, Compiled, compile_definition
from datasets.formatting import format_rows, is_empty
from datasets.model import AggregateQuery, Column, Definition, FunnelQuery, Mode
from datasets.validate import DEFINITION
from db import engines
from db import schema as s
from db.tenancy import tenant_transaction
from errors import BadDefinition, ReportTimeout

STATEMENT_TIMEOUT_MS = 15_000  # a report that runs longer is stopped with a clear error


@dataclass(frozen=True)
class Result:
    definition: Definition
    mode: Mode
    frame: pd.DataFrame
    columns: tuple[Column, ...]
    truncated: bool
    elapsed_ms: float
    start: dt.date
    end: dt.date
    ran_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))  # computed
    compared: tuple[dt.date, dt.date] | None = None  # the window compared with, if any

    @property
    def row_cap(self) -> int:
        return self.mode.row_cap

    @property
    def keeps_latest(self) -> bool:
        """A capped time series keeps its most recent periods (else the first rows)."""
        return any(c.role == "dimension" and c.type == "time" for c in self.columns)

    @property
    def as_of(self) -> str:
        """When its data was computed (a cached result keeps it): "as of 14:05 UTC"."""
        return f"as of {self.ran_at:%H:%M} UTC"

    def formatted(self) -> list[list[str]]:
        return format_rows(self.frame, self.columns)

    def raw_rows(self) -> list[list[Any]]:
        """JSON-ready raw values: numbers as numbers, days as ISO dates, empty as null."""
        return [[_jsonable(v) for v in row] for row in self.frame.itertuples(index=False)]

    def to_json(self) -> dict[str, Any]:
        return {
            "columns": [
                {"id": c.id, "label": c.label, "type": c.type, "role": c.role} for c in self.columns
            ],
            "rows": self.raw_rows(),
            "formatted": self.formatted(),
            "truncated": self.truncated,
            "row_cap": self.row_cap,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "range": {"start": self.start.isoformat(), "end": self.end.isoformat()},
            **({"compared": {"start": self.compared[0].isoformat(),
                             "end": self.compared[1].isoformat()}} if self.compared else {}),
        }  # fmt: skip


def _jsonable(value: Any) -> Any:
    if is_empty(value):
        return None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _check_references(conn: sa.Connection, definition: Definition) -> None:
    """What the definition names in the tenant's data exists (else a BadDefinition): the
    funnel's flow; an aggregate names only registry ids, checked by validate()."""
    match definition:
        case AggregateQuery():
            pass
        case FunnelQuery():
            flow_id = definition.flow_id
            exists = conn.scalar(sa.select(sa.literal(True)).where(s.flows.c.id == flow_id))
            if not exists:
                raise BadDefinition([("flow_id", f"there is no flow with id {flow_id}")])
        case _:
            assert_never(definition)


@functools.lru_cache(maxsize=512)
def _compiled(definition_json: str, today: dt.date) -> Compiled:
    """compile_definition is pure, so dashboards, previews and schedules that run the same
    definition on the same day reuse its select (and SQLAlchemy's cached SQL for it)."""
    return compile_definition(DEFINITION.validate_json(definition_json), today=today)


def _in_order(rows: list[Any], compiled: Compiled) -> list[Any]:
    """The kept rows in the report's order: a time series was fetched newest first (so a
    cap keeps the latest periods) and reads oldest first."""
    return rows[::-1] if compiled.newest_first else rows


def _frame(rows: list[Any], compiled: Compiled, cap: int) -> pd.DataFrame:
    return pd.DataFrame(
        [tuple(r) for r in _in_order(rows[:cap], compiled)],
        columns=[c.id for c in compiled.columns],
        dtype=object,
    )


def _statement(compiled: Compiled, earlier: Compiled | None, limit: int) -> sa.Select:
    """The report's first `limit` rows; compared, each window's first `limit` rows, the
    current window's first, each tagged with its window and position (Compiled.numbered)."""
    if earlier is None:
        return compiled.select.limit(limit)
    windows = [c.numbered(n, limit).subquery() for n, c in enumerate((compiled, earlier))]
    both = sa.union_all(*(sa.select(w) for w in windows)).subquery("windows")
    return sa.select(both).order_by(both.c[WINDOW], both.c[POSITION])


def _windows(rows: list[Any], compared: bool) -> tuple[list[Any], list[Any]]:
    """The current window's rows and the earlier window's, without their two tags."""
    if not compared:
        return rows, []
    windows: tuple[list[Any], list[Any]] = ([], [])
    for row in rows:
        windows[row._mapping[WINDOW]].append(row[:-2])
    return windows


def run_report(
    definition: Definition,
    *,
    tenant_id: int,
    mode: Mode,
    engine: Engine | None = None,
    today: dt.date | None = None,
    statement_timeout_ms: int = STATEMENT_TIMEOUT_MS,
) -> Result:
    """Runs a validated definition for `tenant_id` (web role: RLS applies)."""
    engine = engine if engine is not None else engines.default().web
    today = today or dt.datetime.now(dt.UTC).date()
    compiled = _compiled(definition.model_dump_json(), today)
    earlier = None
    if definition.compare is not None:
        shift = compare.shift(definition, definition.compare, compiled.start, compiled.end)
        earlier_definition = compare.earlier(definition, shift, compiled.start, compiled.end)
        earlier = _compiled(earlier_definition.model_dump_json(), today)
    cap = mode.row_cap
    started = time.perf_counter()
    try:
        with tenant_transaction(
            engine, tenant_id=tenant_id, statement_timeout_ms=statement_timeout_ms
        ) as conn:
            _check_references(conn, definition)
            found = conn.execute(_statement(compiled, earlier, cap + 1)).all()
    except OperationalError as exc:
        if isinstance(exc.orig, QueryCanceled):
            raise ReportTimeout(statement_timeout_ms / 1000) from exc
        raise
    elapsed_ms = (time.perf_counter() - started) * 1000
    rows, earlier_rows = _windows(found, earlier is not None)
    frame, columns = _frame(rows, compiled, cap), compiled.columns
    if earlier is not None:
        columns, frame = compare.joined(columns, frame, _frame(earlier_rows, earlier, cap), shift)
    return Result(
        definition=definition,
        mode=mode,
        frame=frame,
        columns=columns,
        truncated=len(rows) > cap,
        elapsed_ms=elapsed_ms,
        start=compiled.start,
        end=compiled.end,
        compared=(earlier.start, earlier.end) if earlier else None,
    )
