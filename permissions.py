"""The one place that decides what the signed-in user may do.

Every page, Dash callback and HTTP route asks here, before any work; hiding a control is
never the check. The rules, in full:

- **Leaves.** `require(leaf)` / `may(leaf)`: the user's roles grant the leaf (a child
  leaf implies its parent, see access.py). Signed out is 401, a missing leaf 403.
- **Read a dataset** (run, preview, suggest values): `analytics` and the dataset's own
  leaf (`telemetry` for Telemetry; the others need `analytics` only).
- **Read a report** (open it, its dashboard card, export it, read its export jobs):
  read its *current* dataset.
- **Manage a report** (save over it, duplicate it, delete it, pin or un-pin it, schedule
  it): `reports.manage` and read its current dataset. Duplicating is managing the
  original, since the copy is a new report of the same dataset; saving also needs to
  read the dataset of the definition being saved.
- **Manage the layout** (order and widths of the dashboard's cards): `reports.manage`;
  a card the layout drops is un-pinned, so dropping one is managing its report.
- **404 before 403.** A report or export job of another tenant is invisible (row-level
  security, the job's tenant): it is NotFound whatever the user's leaves, so ids reveal
  nothing. Only the tenant's own objects can be Forbidden.
- **Export jobs** carry the leaf of the report they were started for (`meta["leaf"]`),
  checked on every status read, poll and download.
"""

from __future__ import annotations

from typing import Any

from rq.job import Job

from access import LABELS, HubUser, Leaf, current
from datasets.registry import DATASETS
from db import engines
from db.reports import SavedReport, get_report
from errors import MissingLeaf, NotFound, Unauthorized

NO_REPORT = "There is no such report."
NO_EXPORT = "There is no such export."
LEAF_NAMES = frozenset(leaf.value for leaf in Leaf)  # what a stored leaf may name


def signed_in() -> HubUser:
    """The signed-in user; Unauthorized when nobody is."""
    user = current()
    if user is None:
        raise Unauthorized()
    return user


def may(leaf: Leaf) -> bool:
    """Whether the signed-in user holds `leaf` (False when nobody is signed in)."""
    user = current()
    return user is not None and user.may(leaf)


def require(leaf: Leaf) -> HubUser:
    """The signed-in user if they hold `leaf`; Unauthorized or Forbidden otherwise."""
    user = signed_in()
    _require_leaf(user, leaf)
    return user


def page_user(leaf: Leaf) -> HubUser | None:
    """The signed-in user when they may open a page that needs `leaf`; None (the page
    then shows why) otherwise. Pages render rather than raise."""
    user = current()
    return user if user is not None and user.may(leaf) else None


def _require_leaf(user: HubUser, leaf: Leaf) -> None:
    if not user.may(leaf):
        raise MissingLeaf(leaf, f"Your role does not include {LABELS[leaf].lower()}.")


def dataset_leaf(dataset_id: str) -> Leaf:
    """The leaf that reading `dataset_id` needs (analytics for an unknown id: the
    validator refuses those before any query)."""
    dataset = DATASETS.get(dataset_id)
    return Leaf(dataset.leaf) if dataset is not None else Leaf.ANALYTICS


def _definition_leaf(definition: dict[str, Any]) -> Leaf:
    return dataset_leaf(str(definition.get("dataset")))


def may_read_dataset(user: HubUser, dataset_id: str) -> bool:
    return user.may(Leaf.ANALYTICS) and user.may(dataset_leaf(dataset_id))


def require_dataset(user: HubUser, dataset_id: str) -> None:
    """Forbidden unless the user may read `dataset_id`."""
    _require_leaf(user, Leaf.ANALYTICS)
    _require_leaf(user, dataset_leaf(dataset_id))


def may_manage_dataset(user: HubUser, dataset_id: str) -> bool:
    """Whether the user may manage reports of `dataset_id` (or build one from a template)."""
    return user.may(Leaf.REPORTS_MANAGE) and may_read_dataset(user, dataset_id)


def may_manage_definition(user: HubUser, definition: dict[str, Any]) -> bool:
    """Whether the user may manage a report whose current definition this is."""
    return may_manage_dataset(user, str(definition.get("dataset")))


def visible_report(user: HubUser, report_id: Any) -> SavedReport | None:
    """The user's tenant's report, or None for anything else (not an id, unknown, another
    tenant's): what may be read of it is still to be asked."""
    if type(report_id) is not int or not 0 < report_id < 2**63:
        return None
    return get_report(engines.default().web, tenant_id=user.tenant_id, report_id=report_id)


def _tenant_report(user: HubUser, report_id: Any) -> SavedReport:
    report = visible_report(user, report_id)
    if report is None:
        raise NotFound(NO_REPORT)
    return report


def readable_report(report_id: Any) -> tuple[HubUser, SavedReport]:
    """The user and the report they may read; 401, then 404, then 403."""
    user = signed_in()
    report = _tenant_report(user, report_id)
    require_dataset(user, str(report.definition.get("dataset")))
    return user, report


def manageable_report(report_id: Any) -> tuple[HubUser, SavedReport]:
    """The user and the report they may manage; 401, then 404, then 403."""
    user = signed_in()
    report = _tenant_report(user, report_id)
    _require_leaf(user, Leaf.REPORTS_MANAGE)
    require_dataset(user, str(report.definition.get("dataset")))
    return user, report


def require_save(user: HubUser, definition: dict[str, Any], report_id: int | None) -> None:
    """Saving `definition` (as a new report, or over `report_id`): manage the report as it
    is now, and read the dataset it is saved with. 404, then 403."""
    current = _tenant_report(user, report_id) if report_id is not None else None
    _require_leaf(user, Leaf.REPORTS_MANAGE)
    if current is not None:
        _require_leaf(user, _definition_leaf(current.definition))
    _require_leaf(user, _definition_leaf(definition))


def require_unpin(user: HubUser, definitions: list[dict[str, Any]]) -> None:
    """Dropping these reports' cards from the layout: manage each of them."""
    _require_leaf(user, Leaf.REPORTS_MANAGE)
    for definition in definitions:
        _require_leaf(user, _definition_leaf(definition))


def may_read_leaf(user: HubUser, leaf: str | None) -> bool:
    """Whether the user may read what a stored leaf guards (an emailed report's leaf;
    None: nothing beyond the page's own leaf)."""
    return leaf is None or (leaf in LEAF_NAMES and user.may(Leaf(leaf)))


def report_leaf(report: SavedReport) -> Leaf:
    """The leaf an export job of this report carries."""
    return _definition_leaf(report.definition)


def readable_job(job: Job | None, user: HubUser) -> Job:
    """The export job when it is the user's tenant's and they hold the leaf it carries;
    NotFound for another tenant's (or an unknown) job, Forbidden for a missing leaf."""
    if job is None or job.meta.get("tenant_id") != user.tenant_id:
        raise NotFound(NO_EXPORT)
    leaf = job.meta.get("leaf")
    if leaf not in LEAF_NAMES:
        raise NotFound(NO_EXPORT)  # a job from before jobs carried their leaf
    _require_leaf(user, Leaf.ANALYTICS)
    _require_leaf(user, Leaf(leaf))
    return job
