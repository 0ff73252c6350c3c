"""Every component id used by more than one module is built here."""

from __future__ import annotations

from typing import Any

ERROR_TOAST = "hub-error-toast"
URL = "hub-url"


def export_button(report: Any, fmt: Any) -> dict[str, Any]:
    return {"type": "export-button", "report": report, "fmt": fmt}


def export_status(report: Any) -> dict[str, Any]:
    return {"type": "export-status", "report": report}


def export_job(report: Any) -> dict[str, Any]:
    return {"type": "export-job", "report": report}


def export_poll(report: Any) -> dict[str, Any]:
    return {"type": "export-poll", "report": report}


def export_download(report: Any) -> dict[str, Any]:
    return {"type": "export-download", "report": report}


CHART = "hub-chart"
# The builder preview's chart and grid (their clicks drill down): pattern ids, so a
# preview without one of them (a table has no chart, a KPI no grid) is no missing input.
B_CHART = {"type": "builder-chart", "draft": "preview"}
B_GRID = {"type": "builder-grid", "draft": "preview"}
REPORT_DUPLICATE = "report-duplicate"
REPORT_DELETE = "report-delete"
REPORT_DELETE_CONFIRM = "report-delete-confirm"
REPORT_DELETE_CANCEL = "report-delete-cancel"
REPORT_DELETE_MODAL = "report-delete-modal"
REPORT_ID = "report-id"

# The report builder.
B_DATASET = "builder-dataset"
B_DATASET_HELP = "builder-dataset-help"
B_MEASURES = "builder-measures"
B_DIMENSIONS = "builder-dimensions"
B_GRAIN = "builder-grain"
B_GRAIN_BOX = "builder-grain-box"
B_FLOW = "builder-flow"
B_FLOW_BOX = "builder-flow-box"
B_BREAKDOWN_BOX = "builder-breakdown-box"
B_RANGE = "builder-range"
B_DATES = "builder-dates"
B_COMPARE = "builder-compare"
B_VIZ = "builder-viz"
B_FILTERS = "builder-filters"
B_FILTER_ADD = "builder-filter-add"
B_NOTE = "builder-note"
B_DEFINITION = "builder-definition"
B_PREVIEW = "builder-preview"
B_RUN = "builder-run"
B_NAME = "builder-name"
B_DESCRIPTION = "builder-description"
B_SAVE = "builder-save"
B_SAVE_FEEDBACK = "builder-save-feedback"
B_REPORT_ID = "builder-report-id"
B_DIRTY = "builder-dirty"


def b_error(control: str) -> str:
    """The inline error slot under a builder control (path prefix of its issues)."""
    return f"builder-error-{control}"


def b_filter(part: str, index: Any) -> dict[str, Any]:
    """A part of filter row `index`: row, field, op, value, value2 (between), remove."""
    return {"type": f"builder-filter-{part}", "index": index}


B_DEBOUNCED = "builder-debounced"
B_SAVED_URL = "builder-saved-url"
LANDING_SEARCH = "hub-report-search"
LANDING_REPORTS = "hub-report-list"
