"""Compare to a previous period: the earlier window, and every dataset's previous numbers
against hand-written SQL over that window (tests/hand_sql.py), matched by breakdown."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from typing import Any

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa

from datasets import compare, result_codec
from datasets.compare import Shift
from datasets.describe import describe
from datasets.formatting import format_rows, format_value
from datasets.model import Better, Column, Compare, Grain, Mode
from datasets.registry import DATASETS
from datasets.validate import validate
from errors import BadDefinition
from export_formats import csv_chunks, number_format, xlsx_bytes
from tests.conftest import Hub
from tests.hand_sql import expected_sql
from tests.test_datasets import FACTS, USD, USD_SQL, Case, acme, every, hand, ids, run, span

__all__ = ["acme", "ids"]  # the fixtures test_datasets defines, used here too

TODAY = dt.datetime.now(dt.UTC).date()
DAY = dt.timedelta(days=1)
# Two weeks inside the token rollup's 90 days, their previous period too; not week-aligned.
START, END = TODAY - 17 * DAY, TODAY - 4 * DAY


def _definition(dataset: str = "conversions", **extra: Any) -> Any:
    return validate({"dataset": dataset, "measures": ["conversions"], **extra})


@pytest.mark.parametrize(
    ("extra", "start", "end", "expected"),
    [
        ({}, dt.date(2026, 11, 3), dt.date(2026, 12, 2), Shift(days=30)),
        ({"dimensions": [{"id": "time", "grain": "day"}]},
         dt.date(2026, 11, 3), dt.date(2026, 12, 2), Shift(days=30)),
        ({"dimensions": [{"id": "time", "grain": "week"}]},  # whole weeks: 30 days -> 5 weeks
         dt.date(2026, 11, 3), dt.date(2026, 12, 2), Shift(days=35)),
        ({"dimensions": [{"id": "time", "grain": "month"}]},  # the months it spans
         dt.date(2026, 10, 15), dt.date(2026, 12, 2), Shift(months=3)),
        ({"date_range": {"preset": "mtd"}}, dt.date(2026, 12, 1), dt.date(2026, 12, 3),
         Shift(months=1)),
        ({"date_range": {"preset": "qtd"}}, dt.date(2026, 10, 1), dt.date(2026, 12, 3),
         Shift(months=3)),
        ({"date_range": {"preset": "ytd"}}, dt.date(2026, 1, 1), dt.date(2026, 12, 3),
         Shift(months=12)),
    ],
)  # fmt: skip
def test_the_previous_period_is_whole_buckets_before(
    extra: dict[str, Any], start: dt.date, end: dt.date, expected: Shift
) -> None:
    definition = _definition(**extra)
    assert compare.shift(definition, Compare.PREVIOUS_PERIOD, start, end) == expected


def test_the_previous_year_is_52_weeks_for_weeks_else_12_months() -> None:
    weekly = _definition(dimensions=[{"id": "time", "grain": "week"}])
    daily = _definition(dimensions=[{"id": "time", "grain": "day"}])
    day = dt.date(2026, 11, 30)  # a Monday
    assert compare.shift(weekly, Compare.PREVIOUS_YEAR, day, day) == Shift(days=364)
    assert Shift(days=364).back(day).isoweekday() == 1
    assert compare.shift(daily, Compare.PREVIOUS_YEAR, day, day) == Shift(months=12)
    assert Shift(months=12).back(dt.date(2028, 2, 29)) == dt.date(2027, 2, 28)
    assert Shift(months=1).back(dt.date(2026, 3, 31)) == dt.date(2026, 2, 28)


def test_month_to_date_is_compared_with_the_same_days_of_last_month() -> None:
    definition = _definition(date_range={"preset": "mtd"}, compare="previous_period")
    earlier = compare.earlier(definition, Shift(months=1), dt.date(2026, 12, 1),
                              dt.date(2026, 12, 3))  # fmt: skip
    assert earlier.date_range.model_dump() == {"start": dt.date(2026, 11, 1),
                                               "end": dt.date(2026, 11, 3)}  # fmt: skip
    assert earlier.compare is None
    pairs = dict(describe(definition, dt.date(2026, 12, 1), dt.date(2026, 12, 3)))
    assert pairs["Compared with"] == "the previous period, 2026-11-01 to 2026-11-03 (UTC)"


@pytest.mark.parametrize("bad", ["last_week", 1, {"period": "previous"}])
def test_a_bad_compare_is_refused_naming_the_field(bad: Any) -> None:
    with pytest.raises(BadDefinition) as raised:
        _definition(compare=bad)
    assert [path for path, _ in raised.value.issues] == ["compare"]


def test_a_change_is_empty_without_a_previous_value_or_against_zero() -> None:
    assert compare.change(12, 10) == pytest.approx(0.2)
    assert compare.change(5, -10) == pytest.approx(1.5)
    assert [compare.change(*pair) for pair in [(3, 0), (3, None), (None, 3)]] == [None] * 3
    change = Column("x__change", "X Δ %", "comparison", "change")
    assert [format_value(v, change) for v in (0.125, -0.03, 0, None)] == [
        "▲ 12.5%", "▼ 3.0%", "0.0%", "—"]  # fmt: skip
    assert number_format(change, None) == '"▲ "#,##0.0%;"▼ "#,##0.0%;0.0%'


# One case per dataset: a breakdown, every measure (revenue in one currency).
CASES = [
    Case(d, every(d), tuple(FACTS[d].dimensions)[:1], start=START, end=END,
         **({"filters": USD, "where": USD_SQL} if d == "conversions" else {}))
    for d in FACTS
] + [
    Case("conversions", ("conversions", "revenue"), ("currency",), grain="week", start=START,
         end=END),
    Case("flow_runs", ("total_runs", "failed", "success_rate"), grain="day", start=START,
         end=END),
]  # fmt: skip


def _keyed(rows: list[tuple[Any, ...]], keys: int) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    return {row[:keys]: row[keys:] for row in rows}


def _case_id(case: Case) -> str:
    return ":".join([case.dataset, case.grain or "", *case.dimensions])


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_previous_numbers_equal_hand_sql_over_the_earlier_window(
    hub: Hub, acme: int, ids: dict[str, int], case: Case
) -> None:
    """Each measure's previous value is the hand SQL's over the window whole buckets
    before, matched on the breakdown values; the change is (now - then) / |then|."""
    raw = {**case.definition(ids), "compare": "previous_period"}
    result = run(raw, acme, hub.web)
    by = compare.shift(validate(raw), Compare.PREVIOUS_PERIOD, START, END)
    earlier = dataclasses.replace(case, start=by.back(START), end=by.back(END))
    keys = len(case.dimensions) + (1 if case.grain else 0)
    sql = expected_sql(FACTS[case.dataset], list(case.measures), list(case.dimensions),
                       case.grain, case.where)  # fmt: skip
    before = _keyed(hand(hub.admin, sql, t=acme, a=earlier.start,
                         **span(earlier.start, earlier.end), **ids), keys)  # fmt: skip
    now = case.expected(hub.admin, acme, ids)
    assert result.compared == (earlier.start, earlier.end)
    assert any(any(v for v in row) for row in before.values()), "the earlier window has data"
    for row, expected in zip(result.frame.to_dict("records"), now, strict=True):
        key = tuple(row[c.id] for c in result.columns[:keys])
        shifted = (by.back(key[0]), *key[1:]) if case.grain else key
        then = before.get(shifted, (None,) * len(case.measures))
        for i, measure in enumerate(case.measures):
            value = row[measure]
            approx = keys + i in case.approx and value is not None
            assert (float(value) if approx else value) == expected[keys + i]
            previous = row[f"{measure}__previous"]
            if then[i] is not None and keys + i in case.approx:
                tolerance = case.tolerance(keys + i)
                assert float(previous) == pytest.approx(float(then[i]), rel=tolerance)
            else:
                assert previous == then[i]
            assert row[f"{measure}__change"] == pytest.approx(
                compare.change(row[measure], previous)
            )


def _statements(engine: Any, call: Any) -> tuple[Any, list[str]]:
    """What `call()` returns, and the statements it sent through `engine`."""
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        return call(), sent
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize("dataset", ["conversions", "funnel"])
def test_both_windows_are_one_statement_each_capped_and_in_order(
    hub: Hub, acme: int, ids: dict[str, int], dataset: str
) -> None:
    """A compared report sends as many statements as the report alone (one round trip for
    both windows); each window keeps its own row cap and the compiler's order: a 365-day
    daily series previewed keeps its latest 200 days, each met by the day a year before."""
    body: dict[str, Any] = (
        {"measures": ["conversions"], "dimensions": [{"id": "time", "grain": "day"}]}
        if dataset == "conversions" else {"flow_id": ids["order_status"], "viz": "funnel"}
    )  # fmt: skip
    raw = {"dataset": dataset, "date_range": {"preset": "365d"}, **body}
    alone, sent_alone = _statements(hub.web, lambda: run(raw, acme, hub.web, Mode.PREVIEW))
    compared_raw = {**raw, "compare": "previous_year"}
    compared, sent = _statements(hub.web, lambda: run(compared_raw, acme, hub.web, Mode.PREVIEW))
    assert len(sent) == len(sent_alone)
    assert compared.truncated is alone.truncated
    assert list(compared.frame.iloc[:, 0]) == list(alone.frame.iloc[:, 0])
    first = alone.columns[1].id
    assert list(compared.frame[first]) == list(alone.frame[first])
    start, end = compared.compared or (TODAY, TODAY)
    earlier_raw = {**raw, "date_range": {"start": start.isoformat(), "end": end.isoformat()}}
    earlier = run(earlier_raw, acme, hub.web, Mode.PREVIEW)
    if dataset == "funnel":
        assert list(compared.frame[f"{first}__previous"]) == list(earlier.frame[first])
        return
    assert len(alone.frame) == Mode.PREVIEW.row_cap and alone.truncated
    by = Shift(months=12)
    then = dict(zip((by.forward(d) for d in earlier.frame["time"]), earlier.frame[first],
                    strict=True))  # fmt: skip
    assert list(compared.frame[f"{first}__previous"]) == [
        then.get(day) for day in compared.frame["time"]]  # fmt: skip
    assert any(then.values()), "the earlier window has data"


def test_a_partial_week_is_compared_with_the_same_days_of_the_week_before(
    hub: Hub, acme: int
) -> None:
    """The first, partial week of a weekly series meets the same weekdays a week (here:
    whole weeks) earlier, not the whole week before."""
    raw = {"dataset": "conversions", "measures": ["conversions"], "compare": "previous_period",
           "dimensions": [{"id": "time", "grain": "week"}],
           "date_range": {"start": START.isoformat(), "end": END.isoformat()}}  # fmt: skip
    result = run(raw, acme, hub.web)
    first_week_end = START + dt.timedelta(days=6 - START.weekday())
    by = compare.shift(validate(raw), Compare.PREVIOUS_PERIOD, START, END)
    [(then,)] = hand(hub.admin, "SELECT count(*) FROM ins_goal_completions x WHERE "
                     "x.tenant_id = :t AND x.completed_at >= :lo AND x.completed_at < :hi",
                     t=acme, **span(by.back(START), by.back(first_week_end)))  # fmt: skip
    assert result.frame.iloc[0]["conversions__previous"] == then


def test_month_to_date_against_the_same_days_of_last_month(hub: Hub, acme: int) -> None:
    raw = {"dataset": "flow_runs", "measures": ["total_runs"], "viz": "kpi",
           "date_range": {"preset": "mtd"}, "compare": "previous_period"}  # fmt: skip
    result = run(raw, acme, hub.web)
    first = TODAY.replace(day=1)
    start, end = Shift(months=1).back(first), Shift(months=1).back(TODAY)
    [(then,)] = hand(hub.admin, "SELECT count(*) FROM fs_executions x WHERE x.tenant_id = :t "
                     "AND x.started_at >= :lo AND x.started_at < :hi",
                     t=acme, **span(start, end))  # fmt: skip
    assert result.compared == (start, end)
    assert result.frame.iloc[0]["total_runs__previous"] == then


def test_comparison_columns_follow_their_measure_in_every_rendering(hub: Hub, acme: int) -> None:
    """Previous and Δ % follow each measure: labelled, formatted by the one formatter in
    the CSV, kept through the result cache's codec, and coloured by the measure's sense."""
    raw = {"dataset": "flow_runs", "measures": ["total_runs", "failed"],
           "dimensions": [{"id": "status"}], "compare": "previous_year",
           "date_range": {"start": START.isoformat(), "end": END.isoformat()}}  # fmt: skip
    result = run(raw, acme, hub.web)
    assert [c.label for c in result.columns] == [
        "Status", "Runs", "Runs (previous)", "Runs Δ %", "Failed", "Failed (previous)",
        "Failed Δ %"]  # fmt: skip
    assert [c.better for c in result.columns if c.type == "change"] == [Better.UP, Better.DOWN]
    lines = "".join(csv_chunks(result)).splitlines()
    assert lines[1:] == [",".join(f'"{t}"' if "," in t else t for t in row)
                         for row in format_rows(result.frame, result.columns)]  # fmt: skip
    back = result_codec.loads(result_codec.dumps(result), definition=result.definition,
                              mode=Mode.EXPORT)  # fmt: skip
    assert back.compared == result.compared and back.columns == result.columns
    assert back.frame.equals(result.frame)


def test_joined_rows_keep_the_current_order_and_miss_nothing() -> None:
    """A bucket or value with no earlier row reads empty, never a made-up zero."""
    time = Column("time", "Time", "dimension", "time", grain=Grain.DAY)
    runs = Column("runs", "Runs", "measure", "count")
    now = pd.DataFrame({"time": [dt.date(2026, 12, 1), dt.date(2026, 12, 2)], "runs": [4, 6]},
                       dtype=object)  # fmt: skip
    then = pd.DataFrame({"time": [dt.date(2026, 11, 30)], "runs": [3]}, dtype=object)
    columns, frame = compare.joined((time, runs), now, then, Shift(days=2))
    assert [c.id for c in columns] == ["time", "runs", "runs__previous", "runs__change"]
    assert frame.to_dict("records") == [
        {"time": dt.date(2026, 12, 1), "runs": 4, "runs__previous": None, "runs__change": None},
        {"time": dt.date(2026, 12, 2), "runs": 6, "runs__previous": 3, "runs__change": 1.0},
    ]


def test_every_measure_says_whether_up_is_good() -> None:
    down = {(d.id, m.id) for d in DATASETS.values() for m in d.measures if m.better is Better.DOWN}
    assert down == {("flow_runs", "failed"), ("flow_runs", "aborted"),
                    ("flow_runs", "avg_duration"), ("flow_runs", "p95_duration"),
                    ("token_usage", "total_tokens"), ("token_usage", "prompt_tokens"),
                    ("token_usage", "completion_tokens"), ("token_usage", "cost"),
                    ("token_usage", "avg_tokens_per_message"),
                    ("token_usage", "avg_tokens_per_conversation")}  # fmt: skip


def test_the_xlsx_keeps_previous_values_and_changes_as_numbers(hub: Hub, acme: int) -> None:
    """Previous values are numbers in the measure's format; changes are fractions whose
    format shows the formatter's arrows; the About sheet says what was compared."""
    raw = {"dataset": "flow_runs", "measures": ["failed"], "dimensions": [{"id": "status"}],
           "compare": "previous_period",
           "date_range": {"start": START.isoformat(), "end": END.isoformat()}}  # fmt: skip
    result = run(raw, acme, hub.web)
    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(result, title="Failures")))
    sheet = book["Failures"]
    assert [c.value for c in sheet[1]] == ["Status", "Failed", "Failed (previous)", "Failed Δ %"]
    for cells, row in zip(sheet.iter_rows(min_row=2), result.frame.to_dict("records"), strict=True):
        _, _, previous, change = cells
        assert previous.value == row["failed__previous"] and previous.number_format == "#,##0"
        expected = row["failed__change"]  # float digits as openpyxl writes them back
        assert change.value == (None if expected is None else pytest.approx(expected, rel=1e-12))
        assert change.number_format == '"▲ "#,##0.0%;"▼ "#,##0.0%;0.0%'
    about = {k: v for k, v in book["About"].iter_rows(values_only=True)}
    by = compare.shift(validate(raw), Compare.PREVIOUS_PERIOD, START, END)
    assert about["Compared with"] == (
        f"the previous period, {by.back(START)} to {by.back(END)} (UTC)"
    )
