"""Tables that a phone shows as cards (assets/hub.css `.hub-card-table`).

Below Bootstrap's md breakpoint each row becomes a card: its first cell is the title and
every other cell is preceded by its column's heading, which `cell` carries as the cell's
data-label. Wider screens keep the table as it is.
"""

from __future__ import annotations

from typing import Any

from dash import html

CARD_TABLE = "hub-card-table"  # the class that turns a table into cards on a phone


def cell(label: str, content: Any, **props: Any) -> html.Td:
    """A cell that names its column (`label`) for the phone's cards."""
    return html.Td(content, **props, **{"data-label": label})
