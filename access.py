"""ACL leaves, their hierarchy, and the signed-in user.

What a user may do with them is decided in one place, permissions.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import flask_login


class Leaf(StrEnum):
    ANALYTICS = "comerix.insights.analytics"
    REPORTS_MANAGE = "comerix.insights.reports.manage"
    GOALS = "comerix.insights.goals"
    GOALS_MANAGE = "comerix.insights.goals.manage"
    TELEMETRY = "comerix.insights.telemetry"


# A child leaf implies its parent: a user who can build reports can always run them.
PARENT: dict[Leaf, Leaf] = {
    Leaf.REPORTS_MANAGE: Leaf.ANALYTICS,
    Leaf.GOALS_MANAGE: Leaf.GOALS,
}

DESCRIPTIONS: dict[Leaf, str] = {
    Leaf.ANALYTICS: "View the hub, run reports, view saved reports, export.",
    Leaf.REPORTS_MANAGE: "Build, save, duplicate, delete, pin, and schedule reports.",
    Leaf.GOALS: "View goals & conversions.",
    Leaf.GOALS_MANAGE: "Create & edit goals.",
    Leaf.TELEMETRY: "View raw chat telemetry (the Event Explorer).",
}

# Each leaf in words, as refusals name it: "needs the permission “Managing reports”".
LABELS: dict[Leaf, str] = {
    Leaf.ANALYTICS: "Viewing analytics",
    Leaf.REPORTS_MANAGE: "Managing reports",
    Leaf.GOALS: "Viewing goals",
    Leaf.GOALS_MANAGE: "Managing goals",
    Leaf.TELEMETRY: "Viewing raw telemetry",
}


def effective_leaves(granted: Iterable[str]) -> frozenset[Leaf]:
    """The granted leaves plus every leaf they imply."""
    leaves: set[Leaf] = set()
    for name in granted:
        leaf: Leaf | None = Leaf(name)
        while leaf is not None and leaf not in leaves:
            leaves.add(leaf)
            leaf = PARENT.get(leaf)
    return frozenset(leaves)


@dataclass(frozen=True)
class HubUser(flask_login.UserMixin):
    """A signed-in user of one tenant, with the leaves their roles grant."""

    id: int
    tenant_id: int
    tenant_slug: str
    tenant_name: str
    email: str
    name: str
    leaves: frozenset[Leaf]

    def get_id(self) -> str:
        return f"{self.tenant_id}:{self.id}"

    def may(self, leaf: Leaf) -> bool:
        return leaf in self.leaves


def current() -> HubUser | None:
    user = flask_login.current_user
    return user if isinstance(user, HubUser) else None
