"""GraphiQL end to end in a real browser: Debian's headless Chromium against the demo gateway.

Selenium drives /usr/bin/chromium through /usr/bin/chromedriver (Debian's chromium and
chromium-driver packages); nothing downloads a browser or a driver. Without them the test skips.
The page must work offline: every request it makes has to stay on 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest

from emulators.talynce.app import demo_emulator
from gateway.graphiql import GRAPHIQL_CSP

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# What this machine's closed network needs (see the machine notes): no background traffic.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,900",
)
# Schemes that never reach a network: Chromium's own pages (its start page) and inline data.
LOCAL_SCHEMES = frozenset({"data", "blob", "about", "chrome"})
QUERY = "{ candidates(first: 3) { edges { node { fullName } } } }"
TEST_HEADER = ("X-GraphiQL-Test", "from-the-headers-editor")

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()),
    reason="needs Debian's Chromium: apt-get install chromium chromium-driver",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def gateway_url(tmp_path: Path) -> Iterator[str]:
    """`python -m gateway serve --demo` on a free loopback port, as `make run` starts it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "gateway.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--demo", "--port", str(port)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{url}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "demo did not start:\n" + log_path.read_text()
                time.sleep(0.2)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        if os.environ.get("CI"):
            raise  # a dev dependency: CI installs it, so its absence is a failure there
        pytest.skip("selenium is not installed: pip install -e '.[dev]'")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    # DevTools network events (to see every request) and the console (to see errors).
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    # Selenium logs every WebDriver call at DEBUG (the DevTools log included): keep it out.
    quiet = {name: logging.getLogger(name) for name in ("selenium", "urllib3")}
    levels = {name: logger.level for name, logger in quiet.items()}
    for logger in quiet.values():
        logger.setLevel(logging.WARNING)
    # An explicit driver path: Selenium Manager (which would download one) never runs.
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()
        for name, logger in quiet.items():
            logger.setLevel(levels[name])


def first_demo_candidate() -> str:
    """The demo's first merged row: the first Talynce tenant's oldest candidate."""
    org = next(iter(demo_emulator().orgs.values()))
    return org.ordered_candidates()[0].full_name


def set_editor(browser: WebDriver, selector: str, text: str) -> None:
    """Replaces a GraphiQL (CodeMirror 5) editor's text, as a paste would."""
    browser.execute_script(
        "document.querySelector(arguments[0]).CodeMirror.setValue(arguments[1]);", selector, text
    )


def network_requests(browser: WebDriver) -> list[dict[str, Any]]:
    """Every request the page sent, from Chromium's DevTools Network events."""
    requests = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] in ("Network.requestWillBeSent", "Network.webSocketCreated"):
            requests.append(message["params"].get("request") or {"url": message["params"]["url"]})
    return requests


def test_graphiql_runs_a_candidates_query_in_headless_chromium(
    gateway_url: str, browser: WebDriver, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    known = first_demo_candidate()
    answer = httpx.post(f"{gateway_url}/graphql", json={"query": QUERY}).json()
    names = [edge["node"]["fullName"] for edge in answer["data"]["candidates"]["edges"]]
    assert len(names) == 3 and names[0] == known, answer

    page = httpx.get(f"{gateway_url}/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == GRAPHIQL_CSP
    assert "unpkg.com" not in page.text and "<script>" not in page.text

    browser.get(f"{gateway_url}/graphql")
    query_editor = ".graphiql-query-editor .CodeMirror"
    headers_editor = (
        '.graphiql-editor-tool[aria-label="Headers"] .graphiql-editor:not(.hidden) .CodeMirror'
    )
    WebDriverWait(browser, 30).until(
        lambda d: (
            d.find_elements(By.CSS_SELECTOR, query_editor)
            and d.find_elements(By.CSS_SELECTOR, headers_editor)
        )
    )
    set_editor(browser, query_editor, QUERY)
    set_editor(browser, headers_editor, json.dumps(dict([TEST_HEADER])))
    browser.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()

    def rendered(driver: WebDriver) -> str | None:
        text: str = driver.find_element(By.CSS_SELECTOR, ".graphiql-response").text
        return text if all(name in text for name in names) else None

    result = WebDriverWait(browser, 30).until(rendered)  # the names, as the panel shows them
    assert result is not None and known in result and '"errors"' not in result

    screenshot = tmp_path / "graphiql.png"
    assert browser.save_screenshot(str(screenshot))
    assert screenshot.read_bytes().startswith(b"\x89PNG")

    requests = network_requests(browser)
    origin = urlsplit(gateway_url).netloc
    outside = [
        r["url"]
        for r in requests
        if urlsplit(r["url"]).scheme not in LOCAL_SCHEMES and urlsplit(r["url"]).netloc != origin
    ]
    assert not outside, f"requests left {origin}: {outside}"
    loaded = {urlsplit(r["url"]).path for r in requests}
    assert {"/graphql", "/static/graphiql/graphiql.min.js", "/static/graphiql/boot.js"} <= loaded
    posts = [
        r
        for r in requests
        if r.get("method") == "POST" and "candidates(first: 3)" in r.get("postData", "")
    ]
    assert posts, "the query was not posted"
    sent = {name.lower(): value for name, value in posts[0]["headers"].items()}
    assert sent.get(TEST_HEADER[0].lower()) == TEST_HEADER[1], sent

    problems = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not problems, problems  # script errors and Content-Security-Policy violations
