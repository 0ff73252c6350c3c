"""The ACL hierarchy of the spec: children imply parents, nothing else is implied."""

from __future__ import annotations

import pytest

from access import Leaf, effective_leaves

A, RM, G, GM, T = (
    Leaf.ANALYTICS,
    Leaf.REPORTS_MANAGE,
    Leaf.GOALS,
    Leaf.GOALS_MANAGE,
    Leaf.TELEMETRY,
)


@pytest.mark.parametrize(
    ("granted", "effective"),
    [
        ([], set()),
        ([A], {A}),
        ([RM], {RM, A}),
        ([GM], {GM, G}),
        ([G], {G}),
        ([T], {T}),
        ([RM, GM, T], {RM, A, GM, G, T}),
    ],
)
def test_effective_leaves(granted: list[Leaf], effective: set[Leaf]) -> None:
    """reports.manage implies analytics, goals.manage implies goals."""
    assert effective_leaves(x.value for x in granted) == effective


def test_leaf_names_are_the_spec_resources() -> None:
    """The ids are exactly the spec's resources."""
    assert {x.value for x in Leaf} == {
        "comerix.insights.analytics",
        "comerix.insights.reports.manage",
        "comerix.insights.goals",
        "comerix.insights.goals.manage",
        "comerix.insights.telemetry",
    }
