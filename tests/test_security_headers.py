"""Every response carries the security headers (CSP, framing, sniffing, referrer; no-store on
JSON), and every page of the hub works under the policy in Chromium with no violation."""

from __future__ import annotations

import base64
import hashlib
import mailbox
import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import flask
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from selenium import webdriver
from selenium.webdriver.common.by import By
from werkzeug.test import TestResponse

import config
from db import schema as s
from db.seed import DEMO_PASSWORD
from mailer import TENANT_HEADER, ensure_outbox
from tests import browser, callbacks
from tests.conftest import Hub
from tests.web import sign_in

FIXED = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# Every directive but script-src, whose hashes depend on the app's inline scripts.
DIRECTIVES = {
    "default-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data: blob:",
    "font-src": "'self' data:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.DOTALL)
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)  # Dash's IE-only alert sits in one


def _inline_script_hashes(page: str) -> list[str]:
    """CSP hashes of the page's executable inline scripts, computed from the served HTML."""
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(m["body"].encode()).digest()).decode() + "'"
        for m in SCRIPT.finditer(COMMENT.sub("", page))
        if "src=" not in m["attrs"] and "application/json" not in m["attrs"]
    ]


def _directives(policy: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


@pytest.fixture(scope="module")
def signed_in(flask_app: flask.Flask) -> FlaskClient:
    client = flask_app.test_client()
    assert sign_in(client, "admin@acme.example").status_code == 302
    return client


@pytest.fixture(scope="module")
def page_policy(signed_in: FlaskClient) -> str:
    """The policy of a Dash page, checked against the page's own inline scripts."""
    page = signed_in.get("/admin/analytics")
    assert page.status_code == 200 and page.mimetype == "text/html"
    policy = page.headers["Content-Security-Policy"]
    directives = _directives(policy)
    script_src = directives.pop("script-src").split(" ")
    hashes = _inline_script_hashes(page.get_data(as_text=True))
    # Dash's renderer start-up, its pages title callback and the builder's clientside ones.
    assert len(hashes) >= 3
    assert script_src[0] == "'self'" and sorted(script_src[1:]) == sorted(hashes)
    assert directives == DIRECTIVES
    return policy


def _assert_secured(response: TestResponse, policy: str, *, no_store: bool) -> None:
    assert response.headers["Content-Security-Policy"] == policy
    for name, value in FIXED.items():
        assert response.headers[name] == value, name
    if no_store:
        assert response.headers["Cache-Control"] == "no-store"


def test_pages_redirects_and_the_sign_in_page_carry_the_headers(
    flask_app: flask.Flask, signed_in: FlaskClient, page_policy: str
) -> None:
    """Dash pages, the sign-in form (no-store), a signed-out redirect and errors (no-store
    when they are JSON)."""
    for path in ("/admin/analytics", "/admin/analytics/dashboard", "/admin/analytics/nowhere"):
        response = signed_in.get(path)
        assert response.status_code == 200 and response.mimetype == "text/html", path
        _assert_secured(response, page_policy, no_store=False)
    signed_out = flask_app.test_client()
    login_page = signed_out.get("/login")
    assert login_page.status_code == 200 and login_page.mimetype == "text/html"
    _assert_secured(login_page, page_policy, no_store=True)
    assert "<script" not in login_page.get_data(as_text=True)  # nothing inline to allow
    redirect = signed_out.get("/admin/analytics/dashboard")
    assert redirect.status_code == 302
    _assert_secured(redirect, page_policy, no_store=False)
    errors = [signed_in.get("/assets/no-such-file.css"), signed_out.post("/healthz", json={}),
              signed_in.get("/_dash-component-suites/dash/no-such-bundle.js")]  # fmt: skip
    for error in errors:
        assert error.status_code >= 400, error.request.path
        _assert_secured(error, page_policy, no_store=error.is_json)


def test_dash_json_is_never_stored(signed_in: FlaskClient, page_policy: str) -> None:
    """Dash's layout, dependencies and callback answers: headers and Cache-Control no-store."""
    for path in ("/_dash-layout", "/_dash-dependencies"):
        response = signed_in.get(path)
        assert response.status_code == 200 and response.is_json, path
        _assert_secured(response, page_policy, no_store=True)
    answer = callbacks.page(signed_in, "/admin/analytics")
    assert answer.status_code == 200 and answer.is_json, answer.get_data(as_text=True)
    assert "hub-landing" in answer.get_data(as_text=True)
    _assert_secured(answer, page_policy, no_store=True)


def test_json_routes_and_json_errors_are_never_stored(
    flask_app: flask.Flask, signed_in: FlaskClient, page_policy: str
) -> None:
    """Report run and suggestions, the dashboard layout, and 400/401/403 answers."""
    definition = {"dataset": "chat", "measures": ["conversations"], "viz": "table"}
    answers = [
        (signed_in.post("/admin/analytics/reports/run?mode=preview", json=definition), 200),
        (signed_in.get("/admin/analytics/reports/suggest?dataset=conversions&field=channel"),
         200),
        (signed_in.get("/admin/analytics/dashboard/layout"), 200),
        (signed_in.post("/admin/analytics/reports/run", json={"dataset": "nope"}), 400),
        (signed_in.post("/admin/analytics/reports/run", json=definition,
                        headers={"Origin": "https://evil.example"}), 403),
        (flask_app.test_client().get("/admin/analytics/reports/suggest"), 401),
        (signed_in.get("/healthz"), 200),
    ]  # fmt: skip
    for response, status in answers:
        assert (response.status_code, response.is_json) == (status, True), response.request.path
        _assert_secured(response, page_policy, no_store=True)


def test_static_files_keep_their_caching(signed_in: FlaskClient, page_policy: str) -> None:
    """Assets and Dash's fingerprinted bundles carry the headers and keep their caching."""
    css = signed_in.get("/assets/hub.css")
    assert css.status_code == 200
    _assert_secured(css, page_policy, no_store=False)
    assert css.headers["Cache-Control"] == "no-cache" and css.headers["ETag"]  # revalidated
    page = signed_in.get("/admin/analytics").get_data(as_text=True)
    bundle = re.search(r'src="(/_dash-component-suites/dash/deps/react@[^"]+)"', page)
    assert bundle, page
    script = signed_in.get(bundle[1])
    assert script.status_code == 200 and script.mimetype.endswith("javascript")
    _assert_secured(script, page_policy, no_store=False)
    assert script.headers["Cache-Control"] == "max-age=31536000"  # Dash: fingerprinted, a year


# ---- in the browser ---------------------------------------------------------------------

# Records every violation event from the start of each document (CDP injects it before
# the page's scripts, and CSP does not apply to it).
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""
CSP_MESSAGES = ("Content Security Policy", "Refused to")
TRY_EVAL = """
const done = arguments[0];
setTimeout(() => { try { eval("1"); done("ran"); } catch (e) { done(e.name); } }, 0);
"""


def _violations(driver: webdriver.Chrome) -> list[str]:
    """CSP problems since the last call: console messages and violation events."""
    logged = [e["message"] for e in driver.get_log("browser")
              if any(m in e["message"] for m in CSP_MESSAGES)]  # fmt: skip
    return logged + (driver.execute_script("return window.cspViolations || []") or [])


@pytest.fixture
def csp_driver(driver: webdriver.Chrome) -> webdriver.Chrome:
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS})
    return driver


@pytest.fixture
def reports(hub: Hub) -> Iterator[dict[str, int]]:
    """A saved bar report, and pinned KPI, pie, funnel and table reports for Acme."""
    acme = hub.tenant_id("acme")
    with hub.cron.begin() as conn:
        flow = conn.scalar(sa.select(sa.func.min(s.flows.c.id)).where(s.flows.c.tenant_id == acme))
        definitions = {
            "CSP: revenue by goal": {"dataset": "conversions", "measures": ["revenue"],
                                     "dimensions": [{"id": "goal"}, {"id": "currency"}],
                                     "date_range": {"preset": "30d"}, "viz": "bar"},
            "CSP: conversations": {"dataset": "chat", "measures": ["conversations"],
                                   "date_range": {"preset": "30d"}, "viz": "kpi"},
            "CSP: by channel": {"dataset": "conversions", "measures": ["conversions"],
                                "dimensions": [{"id": "channel"}],
                                "date_range": {"preset": "30d"}, "viz": "pie"},
            "CSP: funnel": {"dataset": "funnel", "flow_id": flow,
                            "date_range": {"preset": "30d"}, "viz": "funnel"},
            "CSP: runs by status": {"dataset": "flow_runs", "measures": ["total_runs"],
                                    "dimensions": [{"id": "status"}],
                                    "date_range": {"preset": "30d"}, "viz": "table"},
        }  # fmt: skip
        ids = {
            name: conn.scalar(sa.insert(s.reports).values(
                tenant_id=acme, name=name, definition=definition).returning(s.reports.c.id))
            for name, definition in definitions.items()
        }  # fmt: skip
        conn.execute(sa.delete(s.dashboard_pins).where(s.dashboard_pins.c.tenant_id == acme))
        conn.execute(sa.insert(s.dashboard_pins), [
            {"tenant_id": acme, "report_id": r, "position": i, "span": 6}
            for i, r in enumerate(list(ids.values())[1:])
        ])  # fmt: skip
    try:
        yield ids
    finally:
        with hub.cron.begin() as conn:
            conn.execute(sa.delete(s.dashboard_pins).where(s.dashboard_pins.c.tenant_id == acme))
            conn.execute(sa.delete(s.reports).where(s.reports.c.id.in_(ids.values())))


@pytest.fixture
def outbox_email(hub: Hub) -> Iterator[str]:
    """A scheduled email with inline styles in Acme's outbox; its subject."""
    outbox = config.load().outbox
    ensure_outbox(outbox)
    message = EmailMessage()
    message["Subject"], message["To"] = "CSP: weekly digest", "ops@acme.example"
    message[TENANT_HEADER] = str(hub.tenant_id("acme"))
    message.set_content("Weekly digest")
    message.add_alternative("<h1 style='font-size:20px;color:#111827'>Weekly digest</h1>",
                            subtype="html")  # fmt: skip
    key = mailbox.Maildir(outbox, create=False).add(message)
    try:
        yield message["Subject"]
    finally:
        mailbox.Maildir(outbox, create=False).remove(key)


def _card(report_id: int, inside: str) -> str:
    return f".hub-pin-card[data-report='{report_id}'] {inside}"


@pytest.mark.browser
def test_every_page_renders_under_the_policy_without_violations(
    base_url: str,
    csp_driver: webdriver.Chrome,
    reports: dict[str, int],
    outbox_email: str,
    artifacts: Path,
) -> None:
    """Sign-in, landing, a saved report (bar and grid), the builder from a template (line
    and grid), the outbox (an email in a sandboxed frame) and the dashboard (line, KPI,
    pie, funnel, grid) render with no CSP report in the console or as an event — under a
    policy without 'unsafe-eval'."""
    driver = csp_driver
    browser.sign_in(driver, base_url, "admin@acme.example", DEMO_PASSWORD)
    browser.wait_for(driver, "#hub-landing")
    browser.wait_for(driver, "#hub-saved-reports table")
    assert _violations(driver) == []

    driver.get(f"{base_url}/admin/analytics/reports/{reports['CSP: revenue by goal']}")
    browser.wait_for(driver, "#hub-chart .barlayer .point")
    browser.wait_for(driver, ".ag-row .ag-cell")
    assert _violations(driver) == []

    driver.get(f"{base_url}/admin/analytics/reports/new?template=conversions_overview")
    browser.wait_for(driver, "#builder-preview .scatterlayer .trace")
    browser.wait_for(driver, "#builder-preview .ag-row .ag-cell")
    assert _violations(driver) == []

    driver.get(f"{base_url}/admin/analytics/outbox")
    browser.wait_for(driver, "#hub-outbox-list")
    driver.find_element(By.XPATH, f"//button[contains(., '{outbox_email}')]").click()
    driver.switch_to.frame(browser.wait_for(driver, f"iframe[title='{outbox_email}']"))
    assert browser.wait_for(driver, "h1").text == "Weekly digest"
    driver.switch_to.default_content()
    assert _violations(driver) == []

    driver.get(f"{base_url}/admin/analytics/dashboard")
    browser.wait_for(driver, "#pulse-hero-chart .scatterlayer .trace")
    browser.wait_for(driver, _card(reports["CSP: conversations"], ".indicatorlayer text"))
    browser.wait_for(driver, _card(reports["CSP: by channel"], ".pielayer .slice"))
    browser.wait_for(driver, _card(reports["CSP: funnel"], ".funnellayer .point"))
    browser.wait_for(driver, _card(reports["CSP: runs by status"], ".ag-row .ag-cell"))
    driver.save_screenshot(str(artifacts / "dashboard-under-csp.png"))
    assert _violations(driver) == []
    # The policy is in force on this page and refuses eval, so none of the above needed it
    # (run from a timer: code evaluated by DevTools itself is exempt from the policy).
    assert driver.execute_async_script(TRY_EVAL) == "EvalError"
    assert _violations(driver)  # and the refusal is reported, as any other would have been


@pytest.mark.browser
def test_the_policy_refuses_an_injected_inline_script(
    base_url: str, csp_driver: webdriver.Chrome
) -> None:
    """An inline script added to a page does not run and is reported: the checks above see
    violations when there are any."""
    driver = csp_driver
    browser.sign_in(driver, base_url, "viewer@acme.example", DEMO_PASSWORD)
    browser.wait_for(driver, "#hub-landing")
    assert _violations(driver) == []
    driver.execute_script(
        "const s = document.createElement('script'); s.textContent = 'window.injected = 1';"
        "document.body.appendChild(s);"
    )
    assert driver.execute_script("return window.injected === undefined")
    found = _violations(driver)
    assert any("Content Security Policy" in v for v in found), found
    assert any(v.startswith("script-src") for v in found), found
