"""Any unknown path under the app."""

import dash

from components import shell

dash.register_page(__name__, title="Not found · Analytics Hub")

layout = shell.not_found("Page not found", "There is nothing at this address.")
