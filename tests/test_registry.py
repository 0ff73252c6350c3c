"""The registry checks itself on load, and the runner stops slow statements."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from datasets import registry
from datasets.model import Agg, Measure, MeasureType, Mode, Operator
from datasets.run import run_report
from datasets.validate import validate
from errors import ReportTimeout
from tests.conftest import Hub


def test_every_dataset_declares_labels_and_descriptions() -> None:
    """What the builder shows comes from the registry: nothing is left blank."""
    for dataset in registry.DATASETS.values():
        assert dataset.label and dataset.description
        for element in (*dataset.measures, *dataset.dimensions, *dataset.outputs):
            assert element.label and element.description, (dataset.id, element.id)
        for spec in dataset.filters:
            assert spec.label and spec.operators, (dataset.id, spec.field)


def test_a_broken_declaration_is_refused_with_every_problem() -> None:
    """Unknown columns, a ratio over an unknown measure and a misfit operator all surface."""
    conversions = registry.DATASETS["conversions"]
    broken = dataclasses.replace(
        conversions,
        measures=(
            *conversions.measures,
            Measure("bogus", "Bogus", MeasureType.COUNT, Agg.SUM, "x", column="nope"),
            Measure("odd", "Odd", MeasureType.RATIO, Agg.RATIO, "x", numerator="conversions",
                    denominator="missing"),
        ),
        filters=(
            dataclasses.replace(conversions.filters[0],
                                operators=frozenset({Operator.BETWEEN})),
        ),
    )  # fmt: skip
    with pytest.raises(registry.RegistryError) as caught:
        registry._load(broken)
    message = str(caught.value)
    assert "measure bogus reads missing column nope" in message
    assert "measure odd divides by unknown measure missing" in message
    assert "filter goal (category) cannot use ['between']" in message


def test_statement_timeout_is_a_clear_error(hub: Hub) -> None:
    """A report slower than the statement timeout stops with a message saying what to do."""
    definition = validate(
        {"dataset": "telemetry", "measures": ["events", "distinct_conversations"],
         "dimensions": [{"id": "time", "grain": "day"}, {"id": "event_name"}],
         "date_range": {"preset": "365d"}}
    )  # fmt: skip
    with pytest.raises(ReportTimeout, match=r"took longer than 0\.001 s"):
        run_report(
            definition,
            tenant_id=hub.tenant_id("acme"),
            mode=Mode.PREVIEW,
            engine=hub.web,
            today=dt.datetime.now(dt.UTC).date(),
            statement_timeout_ms=1,
        )
