"""Queue names and the order in which a worker serves them."""

from __future__ import annotations

MAINTENANCE = "maintenance"
EXPORTS = "exports"
EMAIL = "email"

# A worker serves interactive exports first, then email, then maintenance.
ALL = (EXPORTS, EMAIL, MAINTENANCE)
