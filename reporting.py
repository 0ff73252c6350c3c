"""What a signed-in user does with a report definition: preview it, save it, restore an
earlier version of it.

Plain functions so the builder's, the report page's and the dashboard's callbacks stay
thin and they are tested without Dash. Access is asked of permissions.py; problems come
back as (path, message) issues, shown next to the control they name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import permissions
from access import HubUser
from datasets.cache import peek_cached, run_cached
from datasets.compare import previous_period
from datasets.model import Definition, Mode, Viz
from datasets.run import Result
from datasets.validate import validate
from db import engines
from db.report_versions import get_version
from db.reports import save_report
from errors import BadDefinition, Forbidden, InvalidInput, UserError


@dataclass(frozen=True)
class Preview:
    result: Result | None = None
    previous: Result | None = None
    issues: tuple[tuple[str, str], ...] = ()


def preview(
    raw: dict[str, Any], user: HubUser, *, mode: Mode = Mode.PREVIEW, refresh: bool = False
) -> Preview:
    """Validates and runs `raw` (preview: 200 rows; saved: 500) for the user's tenant,
    through the result cache (`refresh`: recomputed); problems come back as (path,
    message) issues instead of exceptions."""

    def run(definition: Definition) -> Result:
        return run_cached(definition, tenant_id=user.tenant_id, mode=mode, refresh=refresh)

    outcome = _previewed(raw, user, run)
    assert outcome is not None  # run always gives a result
    return outcome


def cached_preview(raw: dict[str, Any], user: HubUser, *, mode: Mode) -> Preview | None:
    """What preview() would show, from the result cache alone: None when the report (or
    its previous period) would have to run; issues when the definition cannot run."""

    def peek(definition: Definition) -> Result | None:
        return peek_cached(definition, tenant_id=user.tenant_id, mode=mode)

    return _previewed(raw, user, peek)


def _previewed(
    raw: dict[str, Any], user: HubUser, run: Callable[[Definition], Result | None]
) -> Preview | None:
    try:
        definition = validate(raw)
        permissions.require_dataset(user, definition.dataset)
        if (result := run(definition)) is None:
            return None
        previous = None
        if definition.viz is Viz.KPI and definition.compare is None:  # compared: in the frame
            previous = run(previous_period(definition, result.start, result.end))
            if previous is None:
                return None
        return Preview(result=result, previous=previous)
    except BadDefinition as error:
        return Preview(issues=tuple(error.issues))
    except Forbidden as error:
        return Preview(issues=(("dataset", error.public_message),))
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
    restored_from: int | None = None,
) -> Saved:
    """Validates and saves the definition as the user's report (new, or `report_id`)
    when permissions.require_save allows it; every refusal comes back as an issue."""
    try:
        definition = validate(raw)
        permissions.require_save(user, definition.json_dict(), report_id)
        saved_id = save_report(
            engines.default().web, tenant_id=user.tenant_id, owner_id=user.id, name=name,
            description=description, definition=definition.json_dict(), report_id=report_id,
            restored_from=restored_from,
        )  # fmt: skip
        return Saved(report_id=saved_id)
    except InvalidInput as error:  # the definition's, or the report's own (its name)
        return Saved(issues=tuple(error.issues))
    except UserError as error:  # not found, forbidden: about the whole report
        return Saved(issues=(("(definition)", error.public_message),))


def restore(user: HubUser, report_id: int, version: int) -> Saved:
    """Saves version `version` of the report as its newest version, validated and
    permission-checked like any save: a version whose definition no longer validates (a
    measure since removed), or whose name another report has taken, is refused with the
    reason."""
    old = get_version(engines.default().web, tenant_id=user.tenant_id, report_id=report_id,
                      version=version)  # fmt: skip
    if old is None:
        return Saved(issues=(("version", f"This report has no version {version}."),))
    return save(old.definition, user, name=old.name, description=old.description,
                report_id=report_id, restored_from=version)  # fmt: skip
