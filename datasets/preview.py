"""What the builder needs from one definition: its issues, or its preview result.

A plain function so the builder's callbacks stay thin and it is tested without Dash.
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
