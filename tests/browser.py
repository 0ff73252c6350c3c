"""A real hub web server on a free port, and headless Chromium to drive it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from jobs import queues

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_hub(env: dict[str, str], logs: Path) -> Iterator[str]:
    """gunicorn serving app:create_server() and an RQ worker, as in production; yields the
    base URL."""
    port = free_port()
    root = Path(__file__).resolve().parent.parent
    full_env = {**os.environ, **env}
    web_log, worker_log = logs / "web.log", logs / "worker.log"
    with open(web_log, "wb") as web_out, open(worker_log, "wb") as worker_out:
        web = subprocess.Popen(
            [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1",
             "--threads", "4", "--keep-alive", "75", "app:create_server()"],
            cwd=root, env=full_env, stdout=web_out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        worker = subprocess.Popen(
            [str(BIN / "rq"), "worker", "--url", env["REDIS_URL"], *queues.ALL],
            cwd=root, env=full_env, stdout=worker_out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                assert web.poll() is None, web_log.read_text()
                try:
                    urllib.request.urlopen(f"{base}/healthz", timeout=2).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, web_log.read_text()
                    time.sleep(0.2)
            yield base
        finally:
            for process in (web, worker):
                process.terminate()
                process.wait(timeout=15)


@contextmanager
def chromium(download_dir: Path) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
    ):  # fmt: skip
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(download_dir)})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # shown when a test fails
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver: webdriver.Chrome, css: str, timeout: float = 20):
    return WebDriverWait(driver, timeout).until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, css))
    )


def sign_in(driver: webdriver.Chrome, base: str, email: str, password: str) -> None:
    driver.get(f"{base}/login")
    wait_for(driver, "#email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(password)
    submit = driver.find_element(By.ID, "login-submit")
    submit.click()
    # The answer replaces the sign-in page (success or not); a test that navigates before
    # it arrives races the sign-in itself.
    WebDriverWait(driver, 20).until(ec.staleness_of(submit))


def pick(driver: webdriver.Chrome, element_id: str, text: str) -> None:
    """Open a dropdown, type, and take the highlighted option (retrying while the control
    is being re-rendered)."""
    selector = f"[id='{element_id}']" if element_id.startswith("{") else f"#{element_id}"

    def offered(d: webdriver.Chrome) -> bool:
        return any(text.lower() in o.text.lower()
                   for o in d.find_elements(By.CSS_SELECTOR, "[role=option]"))  # fmt: skip

    for _ in range(3):
        try:
            wait_for(driver, selector).click()
            ActionChains(driver).send_keys(text).perform()
            WebDriverWait(driver, 8, ignored_exceptions=(StaleElementReferenceException,)).until(
                offered
            )
            break
        except (TimeoutException, StaleElementReferenceException):
            ActionChains(driver).send_keys(Keys.ESCAPE).perform()
    ActionChains(driver).send_keys(Keys.ENTER).perform()
