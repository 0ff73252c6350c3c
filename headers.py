"""Security headers on every response: pages, Dash's JSON, assets, the sign-in page, the
JSON routes and errors.

The Content-Security-Policy lets scripts come only from this origin, plus Dash's own
inline scripts by their hashes (`Dash.csp_hashes()`: the renderer's start-up line and one
per clientside callback), so no injected inline script or `eval` runs. Styles may be
inline because Plotly, AG Grid and Dash components set `style` attributes and add
`<style>` rules. Plotly as bundled by Dash needs no 'unsafe-eval' for the traces the hub
draws (scatter, bar, pie, funnel, indicator), nor does AG Grid for its value formatters:
tests/test_security_headers.py renders every page kind in Chromium under this policy and
finds no violation.

JSON is never stored by a browser or proxy (`no-store`): report results, Dash's callback
answers and layouts carry tenant data. Other responses keep their own caching (Dash's
fingerprinted bundles, the assets' validators).
"""

from __future__ import annotations

import functools

import dash
import flask

FIXED_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@functools.lru_cache(maxsize=8)
def content_security_policy(script_hashes: tuple[str, ...]) -> str:
    """The policy, allowing inline scripts only with the given CSP hashes."""
    directives = {
        "default-src": "'self'",
        "script-src": " ".join(("'self'", *script_hashes)),
        "style-src": "'self' 'unsafe-inline'",
        "img-src": "'self' data: blob:",
        "font-src": "'self' data:",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def install(app: dash.Dash) -> None:
    """Adds the security headers to every response of the app's server."""

    def add_headers(response: flask.Response) -> flask.Response:
        # Asked per response, not frozen in create_app: Dash registers one more inline
        # script (its pages' title callback) during the first request that passes the
        # sign-in wall. Hashing Dash's few short scripts takes about 10 µs; the policy
        # text is built once per set of hashes.
        policy = content_security_policy(tuple(app.csp_hashes()))
        response.headers["Content-Security-Policy"] = policy
        response.headers.update(FIXED_HEADERS)
        if response.is_json:
            response.headers["Cache-Control"] = "no-store"
        return response

    app.server.after_request(add_headers)
