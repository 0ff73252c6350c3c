"""What the builder needs: a definition's preview (or its issues), and saving it.

Plain functions so the builder's callbacks stay thin and they are tested without Dash.
Problems come back as (path, message) issues, shown next to the control they name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from access import HubUser, Leaf
from datasets.compare import previous_period
from datasets.model import Mode, Viz
from datasets.registry import DATASETS
from datasets.run import Result, run_report
from datasets.validate import validate
from db import engines
from db.reports import save_report
from errors import BadDefinition, UserError


@dataclass(frozen=True)
class Preview:
    result: Result | None = None
    previous: Result | None = None
    issues: tuple[tuple[str, str], ...] = ()


def preview(raw: dict[str, Any], user: HubUser, *, mode: Mode = Mode.PREVIEW) -> Preview:
    """Validates and runs `raw` (preview: 200 rows; saved: 500) for the user's tenant;
    problems come back as (path, message) issues instead of exceptions."""
    try:
        definition = validate(raw)
        leaf = Leaf(DATASETS[definition.dataset].leaf)
        if not user.may(leaf):
            return Preview(issues=(("dataset", f"your role does not grant {leaf.value}"),))
        result = run_report(definition, tenant_id=user.tenant_id, mode=mode)
        previous = None
        if definition.viz is Viz.KPI:
            earlier = previous_period(definition, result.start, result.end)
            previous = run_report(earlier, tenant_id=user.tenant_id, mode=mode)
        return Preview(result=result, previous=previous)
    except BadDefinition as error:
        return Preview(issues=tuple(error.issues))
    except UserError as error:
        return Preview(issues=(("(definition)", error.public_message),))


@dataclass(frozen=True)
class Saved:
    report_id: int | None = None
    issues: tuple[tuple[str, str], ...] = ()


def save(
    raw: dict[str, Any],
    user: HubUser,
    *,
    name: str,
    description: str,
    report_id: int | None = None,
) -> Saved:
    """Validates and saves the definition as the user's report (new, or `report_id`)."""
    try:
        definition = validate(raw)
        leaf = Leaf(DATASETS[definition.dataset].leaf)
        if not user.may(leaf):
            return Saved(issues=(("dataset", f"your role does not grant {leaf.value}"),))
        saved_id = save_report(
            engines.default().web, tenant_id=user.tenant_id, owner_id=user.id, name=name,
            description=description, definition=definition.json_dict(), report_id=report_id,
        )  # fmt: skip
        return Saved(report_id=saved_id)
    except BadDefinition as error:
        return Saved(issues=tuple(error.issues))
    except UserError as error:
        path, _, message = error.public_message.partition(": ")
        return Saved(issues=((path, message),) if message else (("(definition)", path),))
