"""Every component id used by more than one module is built here."""

from __future__ import annotations

ERROR_TOAST = "hub-error-toast"
URL = "hub-url"
