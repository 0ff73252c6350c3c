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
GRID = "hub-grid"
REPORT_DUPLICATE = "report-duplicate"
REPORT_DELETE = "report-delete"
REPORT_DELETE_CONFIRM = "report-delete-confirm"
REPORT_DELETE_CANCEL = "report-delete-cancel"
REPORT_DELETE_MODAL = "report-delete-modal"
REPORT_ID = "report-id"
