"""Filter operators: which fit which field type, and the SQL each one builds.

One table, explicit NULL semantics: `neq` and `not_in` keep rows whose field is empty
(an empty flow is not "flow 3"); every other operator never matches an empty field.
"""

from __future__ import annotations

from typing import Any, assert_never

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from datasets.model import FieldType, Operator

CATEGORICAL = frozenset({Operator.EQ, Operator.NEQ, Operator.IN, Operator.NOT_IN})
NUMERIC = frozenset(
    {Operator.EQ, Operator.NEQ, Operator.GT, Operator.GTE, Operator.LT, Operator.LTE,
     Operator.BETWEEN}
)  # fmt: skip
SEARCHABLE = frozenset({Operator.EQ, Operator.IN, Operator.CONTAINS})

# What each field type may be filtered with (checked when the registry loads).
FITS: dict[FieldType, frozenset[Operator]] = {
    FieldType.CATEGORY: CATEGORICAL | SEARCHABLE,
    FieldType.NUMBER: NUMERIC | {Operator.IN, Operator.NOT_IN},
    FieldType.TEXT: SEARCHABLE | {Operator.NEQ},
}

LIST_OPERATORS = frozenset({Operator.IN, Operator.NOT_IN})
MAX_LIST_VALUES = 100

HUMAN: dict[Operator, str] = {
    Operator.EQ: "is",
    Operator.NEQ: "is not",
    Operator.IN: "is any of",
    Operator.NOT_IN: "is none of",
    Operator.GT: ">",
    Operator.GTE: "≥",
    Operator.LT: "<",
    Operator.LTE: "≤",
    Operator.BETWEEN: "is between",
    Operator.CONTAINS: "contains",
}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def condition(column: ColumnElement[Any], op: Operator, value: Any) -> ColumnElement[bool]:
    """The WHERE condition for `column op value`; values are always bound parameters."""
    match op:
        case Operator.EQ:
            return column == value
        case Operator.NEQ:
            return column.is_distinct_from(value)
        case Operator.IN:
            return column.in_(value)
        case Operator.NOT_IN:
            return sa.or_(column.is_(None), column.not_in(value))
        case Operator.GT:
            return column > value
        case Operator.GTE:
            return column >= value
        case Operator.LT:
            return column < value
        case Operator.LTE:
            return column <= value
        case Operator.BETWEEN:
            return column.between(value[0], value[1])
        case Operator.CONTAINS:
            return column.ilike(f"%{_escape_like(value)}%", escape="\\")
        case _:
            assert_never(op)
