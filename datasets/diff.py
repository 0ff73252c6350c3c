"""What changed between two saved states of a report, in words: "measure Revenue added;
filter Channel is any of (web) removed; range 30 d → 90 d".

It reads stored definitions as JSON, not through `datasets.validate`: an old version may
name a measure the registry no longer has, and its history must still read (the id
stands in for the label then).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from datasets.describe import PRESET_WORDS
from datasets.model import Dataset, Operator
from datasets.operators import HUMAN
from datasets.registry import DATASETS

Definition = dict[str, Any]


def _label(dataset: Dataset | None, kind: str, item_id: str) -> str:
    if dataset is not None:
        items = {"measure": dataset.measures, "dimension": dataset.dimensions}.get(kind, ())
        for item in items:
            if item.id == item_id:
                return item.label
        if kind == "filter":
            for f in dataset.filters:
                if f.field == item_id:
                    return f.label
    return item_id


def _range(value: Any) -> str:
    if not isinstance(value, dict):
        return "30 d"  # the definition's default
    if "preset" in value:
        preset = str(value["preset"])
        words = PRESET_WORDS.get(preset)
        return words.lower() if words else f"{preset.removesuffix('d')} d"
    return f"{value.get('start')} to {value.get('end')}"


def _compare(value: Any) -> str:
    return str(value).replace("_", " ") if value else "none"


def _dimension(dataset: Dataset | None, ref: dict[str, Any]) -> str:
    label = _label(dataset, "dimension", str(ref.get("id")))
    return f"{label} by {ref['grain']}" if ref.get("grain") else label


def _filter(dataset: Dataset | None, clause: dict[str, Any]) -> str:
    op = str(clause.get("op"))
    words = HUMAN[Operator(op)] if op in {o.value for o in Operator} else op
    value = clause.get("value")
    shown = f"({', '.join(str(v) for v in value)})" if isinstance(value, list) else str(value)
    return f"filter {_label(dataset, 'filter', str(clause.get('field')))} {words} {shown}"


def _added_removed(old: list[str], new: list[str], reordered: str | None = None) -> list[str]:
    before, after = Counter(old), Counter(new)
    removed = [f"{item} removed" for item in (before - after).elements()]
    added = [f"{item} added" for item in (after - before).elements()]
    if reordered and not removed and not added and old != new:
        return [reordered]
    return added + removed


def _breakdowns(old_set: Dataset | None, new_set: Dataset | None, old: Definition,
                new: Definition) -> list[str]:  # fmt: skip
    before = {str(d.get("id")): d for d in old.get("dimensions", [])}
    after = {str(d.get("id")): d for d in new.get("dimensions", [])}
    lines = []
    for dim_id, ref in after.items():
        if dim_id not in before:
            lines.append(f"breakdown {_dimension(new_set, ref)} added")
        elif before[dim_id].get("grain") != ref.get("grain"):
            grains = (before[dim_id].get("grain") or "none", ref.get("grain") or "none")
            lines.append(f"breakdown {_label(new_set, 'dimension', dim_id)} by {grains[0]} → "
                         f"by {grains[1]}")  # fmt: skip
    lines += [f"breakdown {_dimension(old_set, ref)} removed"
              for dim_id, ref in before.items() if dim_id not in after]  # fmt: skip
    if not lines and list(before) != list(after):
        lines.append("breakdowns reordered")
    return lines


def definition_changes(old: Definition, new: Definition) -> list[str]:
    """The changes from `old` to `new`, in the order the builder shows the fields."""
    old_set, new_set = DATASETS.get(str(old.get("dataset"))), DATASETS.get(str(new.get("dataset")))
    lines = []
    if old.get("dataset") != new.get("dataset"):
        lines.append(f"dataset {old_set.label if old_set else old.get('dataset')} → "
                     f"{new_set.label if new_set else new.get('dataset')}")  # fmt: skip
    lines += _added_removed(
        [f"measure {_label(old_set, 'measure', m)}" for m in old.get("measures", [])],
        [f"measure {_label(new_set, 'measure', m)}" for m in new.get("measures", [])],
        "measures reordered",
    )
    lines += _breakdowns(old_set, new_set, old, new)
    lines += _added_removed(
        [_filter(old_set, c) for c in old.get("filters", [])],
        [_filter(new_set, c) for c in new.get("filters", [])],
    )
    if (before := _range(old.get("date_range"))) != (after := _range(new.get("date_range"))):
        lines.append(f"range {before} → {after}")
    if (before := old.get("compare")) != (after := new.get("compare")):
        lines.append(f"comparison {_compare(before)} → {_compare(after)}")
    if (before := old.get("viz", "table")) != (after := new.get("viz", "table")):
        lines.append(f"chart {before} → {after}")
    if old.get("flow_id") != new.get("flow_id"):
        lines.append(f"flow {old.get('flow_id') or 'none'} → {new.get('flow_id') or 'none'}")
    return lines


def report_changes(old: tuple[str, str, Definition], new: tuple[str, str, Definition]) -> list[str]:
    """The changes between two (name, description, definition) states of a report."""
    (old_name, old_description, old_definition) = old
    (new_name, new_description, new_definition) = new
    lines = []
    if old_name != new_name:
        lines.append(f"renamed “{old_name}” → “{new_name}”")
    if old_description != new_description:
        lines.append("description changed")
    return lines + definition_changes(old_definition, new_definition)
