"""Filter value suggestions from the tenant's own data, most frequent first."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from datasets.dates import midnight
from datasets.model import Dataset, Filter, Operator
from datasets.operators import condition
from datasets.registry import DATASETS
from datasets.validate import is_clean_text
from db import engines
from db.tenancy import tenant_transaction
from errors import BadRequest, echo

MAX_SUGGESTIONS = 20
WINDOW_DAYS = 90  # frequency is counted over recent data, so the lookup stays fast
MAX_QUERY = 100


def suggestable(dataset_id: str, field_id: str) -> tuple[Dataset, Filter]:
    """The dataset and filter behind a suggest request, or BadRequest saying what is wrong."""
    dataset = DATASETS.get(dataset_id)
    if dataset is None:
        raise BadRequest(f"dataset: unknown dataset '{echo(dataset_id)}'")
    spec = next((f for f in dataset.filters if f.field == field_id), None)
    if spec is None:
        raise BadRequest(f"field: {dataset_id} has no filter field '{echo(field_id)}'")
    if not spec.suggest:
        raise BadRequest(f"field: {dataset_id}.{field_id} does not offer suggestions")
    return dataset, spec


def suggest(
    dataset: Dataset,
    spec: Filter,
    q: str,
    *,
    tenant_id: int,
    engine: Engine | None = None,
    today: dt.date | None = None,
) -> list[dict[str, Any]]:
    """Up to 20 {"value", "label", "count"} matching `q` (case-insensitive), most frequent
    first, counted over the last WINDOW_DAYS of the dataset's rows."""
    engine = engine if engine is not None else engines.default().web
    today = today or dt.datetime.now(dt.UTC).date()
    q = "".join(c for c in q.strip()[:MAX_QUERY] if is_clean_text(c))
    table = dataset.table
    value = table.c[spec.column]
    since = today - dt.timedelta(days=WINDOW_DAYS - 1)
    time = table.c[dataset.time_column]
    recent = time >= (since if isinstance(time.type, sa.Date) else midnight(since))
    count = sa.func.count().label("count")
    if spec.lookup is not None:
        names = spec.lookup.table
        label = names.c[spec.lookup.name_column]
        query = (
            sa.select(value.label("value"), label.label("label"), count)
            .join(names, sa.and_(names.c.tenant_id == table.c.tenant_id, names.c.id == value))
            .group_by(value, label)
        )
        matched = label
    else:
        query = sa.select(value.label("value"), value.label("label"), count).group_by(value)
        matched = value
    query = query.where(recent, value.is_not(None))
    if q:
        query = query.where(condition(matched, Operator.CONTAINS, q))
    query = query.order_by(count.desc(), matched).limit(MAX_SUGGESTIONS)
    with tenant_transaction(engine, tenant_id=tenant_id) as conn:
        return [dict(row._mapping) for row in conn.execute(query)]
