"""A run result as an AG Grid table: raw values sort, the formatter's text shows, and a
row's id is its drill-down bucket (a click reports it)."""

from __future__ import annotations

import json
from typing import Any

import dash_ag_grid as dag

from components.chart_rows import DRILL_ID, ROW, cell_text, drill_values, result_rows
from datasets.compare import TONES, tone
from datasets.formatting import CHANGE, is_empty
from datasets.run import Result


def table(result: Result, *, grid_id: str | dict[str, Any]) -> dag.AgGrid:
    """A sortable grid: raw values sort, the formatter's text shows, header pinned."""
    rows = []
    keys = drill_values(result)
    for row in result_rows(result):
        # The row's id is its drill-down bucket's values; a click reports it (cellClicked).
        record: dict[str, Any] = {DRILL_ID: json.dumps(keys[row[ROW]], sort_keys=True)}
        for column in result.columns:
            value = row[column.id]
            record[column.id] = None if is_empty(value) else (
                str(value) if column.role == "dimension" else float(value))  # fmt: skip
            record[f"{column.id}__text"] = cell_text(row, column)
            if column.type == CHANGE:
                record[f"{column.id}__tone"] = tone(value, column.better)
        rows.append(record)
    column_defs = [
        {"field": c.id, "headerName": c.label, "sortable": True, "resizable": True,
         "valueFormatter": {"function": f"params.data['{c.id}__text']"},
         "type": "rightAligned" if c.role != "dimension" else None,
         **({"cellClassRules": {f"hub-{t}": f"params.data['{c.id}__tone'] === '{t}'"
                                for t in TONES}} if c.type == CHANGE else {})}
        for c in result.columns
    ]  # fmt: skip
    return dag.AgGrid(
        id=grid_id,
        rowData=rows,
        columnDefs=column_defs,
        # Headers wrap rather than end in "Success r…"; columns share the width.
        defaultColDef={"flex": 1, "minWidth": 110, "wrapHeaderText": True,
                       "autoHeaderHeight": True},
        getRowId=f"params.data.{DRILL_ID}",
        # Columns take their widths at once, not sliding into place after the first draw.
        dashGridOptions={"domLayout": "autoHeight" if len(rows) <= 15 else "normal",
                         "suppressColumnMoveAnimation": True},
        style={"height": None if len(rows) <= 15 else "480px"},
        className="ag-theme-alpine",
    )  # fmt: skip
