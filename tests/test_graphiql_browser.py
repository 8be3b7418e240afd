"""GraphiQL end to end in a real browser: Debian's headless Chromium against the demo gateway.

Selenium drives /usr/bin/chromium through /usr/bin/chromedriver (Debian's chromium and
chromium-driver packages); nothing downloads a browser or a driver. Without them the test skips.
The page must work offline: every request it makes has to stay on 127.0.0.1.

The query test drives `python -m gateway serve --demo` as `make run` starts it. The subscription
tests serve the demo in their own event loop instead (as the other live-update tests do), so they
read the server's count of running subscriptions: a change is made only once the browser's
subscription is followed, and the server must end it when GraphiQL's stop is pressed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest

from emulators.talynce.app import demo_emulator
from gateway.demo import DemoEnvironment, demo_environment
from gateway.graphiql import GRAPHIQL_CSP
from gateway.security import Client, hash_key
from resolvers.ids import encode_id
from tests.live_support import LiveGateway, live_gateway
from tests.servers import wait_until_healthy
from tests.ws_support import until

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
SUBSCRIPTION = "subscription { candidateChanged { kind id account { id } candidate { title } } }"
RETITLE = """
mutation($id: ID!, $title: String!) {
  updateCandidate(id: $id, input: {title: $title}) { candidate { id } userErrors { code } }
}
"""
TEST_HEADER = ("X-GraphiQL-Test", "from-the-headers-editor")
QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
HEADERS_EDITOR = (
    '.graphiql-editor-tool[aria-label="Headers"] .graphiql-editor:not(.hidden) .CodeMirror'
)
RUN_BUTTON = ".graphiql-execute-button"
RESPONSE = ".graphiql-response"
WITHIN = 30.0  # seconds for anything the browser does: generous, as CI's two cores are shared

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
            wait_until_healthy(url, process, log_path.read_text, "demo")
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


def devtools_events(browser: WebDriver) -> list[tuple[str, dict[str, Any]]]:
    """Chromium's DevTools Network events since the last call, as (method, params)."""
    events = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        events.append((message["method"], message.get("params", {})))
    return events


def network_requests(events: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Every request the page sent (with its DevTools `requestId`)."""
    requests = []
    for method, params in events:
        if method in ("Network.requestWillBeSent", "Network.webSocketCreated"):
            request = params.get("request") or {"url": params["url"]}
            requests.append({**request, "requestId": params.get("requestId")})
    return requests


def outside(requests: list[dict[str, Any]], origin: str) -> list[str]:
    """The URLs of requests that left `origin` (a netloc) for the network."""
    return [
        r["url"]
        for r in requests
        if urlsplit(r["url"]).scheme not in LOCAL_SCHEMES and urlsplit(r["url"]).netloc != origin
    ]


def sent_headers(request: dict[str, Any]) -> dict[str, str]:
    return {name.lower(): value for name, value in request["headers"].items()}


def open_graphiql(browser: WebDriver, url: str) -> None:
    """Loads the page and waits for its editors."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url)
    WebDriverWait(browser, WITHIN).until(
        lambda d: (
            d.find_elements(By.CSS_SELECTOR, QUERY_EDITOR)
            and d.find_elements(By.CSS_SELECTOR, HEADERS_EDITOR)
        )
    )


def run_operation(
    browser: WebDriver, operation: str, headers: dict[str, str] | None = None
) -> None:
    """Types `operation` and `headers` (TEST_HEADER unless given) in the editors, presses run."""
    from selenium.webdriver.common.by import By

    set_editor(browser, QUERY_EDITOR, operation)
    set_editor(
        browser, HEADERS_EDITOR, json.dumps(dict([TEST_HEADER]) if headers is None else headers)
    )
    browser.find_element(By.CSS_SELECTOR, RUN_BUTTON).click()


def press_stop(browser: WebDriver) -> None:
    """Presses the run button while it is the stop button."""
    from selenium.webdriver.common.by import By

    button = browser.find_element(By.CSS_SELECTOR, RUN_BUTTON)
    assert (button.get_attribute("aria-label") or "").startswith("Stop")
    button.click()


def wait_until_idle(browser: WebDriver) -> None:
    """Waits for the run button to be a run button again (GraphiQL ended the operation)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def idle(driver: WebDriver) -> bool:
        button = driver.find_element(By.CSS_SELECTOR, RUN_BUTTON)
        return (button.get_attribute("aria-label") or "").startswith("Execute")

    WebDriverWait(browser, WITHIN).until(idle)


def wait_for_response(browser: WebDriver, shown: Callable[[str], bool]) -> str:
    """The response pane's text once `shown` holds for it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def rendered(driver: WebDriver) -> str | None:
        text: str = driver.find_element(By.CSS_SELECTOR, RESPONSE).text
        return text if shown(text) else None

    text = WebDriverWait(browser, WITHIN).until(rendered)
    assert text is not None
    return text


def severe_console_messages(browser: WebDriver) -> list[str]:
    """Script errors and Content-Security-Policy violations the page logged."""
    return [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_graphiql_runs_a_candidates_query_in_headless_chromium(
    gateway_url: str, browser: WebDriver, tmp_path: Path
) -> None:
    known = first_demo_candidate()
    answer = httpx.post(f"{gateway_url}/graphql", json={"query": QUERY}).json()
    names = [edge["node"]["fullName"] for edge in answer["data"]["candidates"]["edges"]]
    assert len(names) == 3 and names[0] == known, answer

    page = httpx.get(f"{gateway_url}/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == GRAPHIQL_CSP
    assert "unpkg.com" not in page.text and "<script>" not in page.text

    open_graphiql(browser, f"{gateway_url}/graphql")
    run_operation(browser, QUERY)
    # The names, as the panel shows them.
    result = wait_for_response(browser, lambda text: all(name in text for name in names))
    assert known in result and '"errors"' not in result

    screenshot = tmp_path / "graphiql.png"
    assert browser.save_screenshot(str(screenshot))
    assert screenshot.read_bytes().startswith(b"\x89PNG")

    requests = network_requests(devtools_events(browser))
    origin = urlsplit(gateway_url).netloc
    assert not outside(requests, origin), f"requests left {origin}: {outside(requests, origin)}"
    loaded = {urlsplit(r["url"]).path for r in requests}
    assert {"/graphql", "/static/graphiql/graphiql.min.js", "/static/graphiql/boot.js"} <= loaded
    posts = [
        r
        for r in requests
        if r.get("method") == "POST" and "candidates(first: 3)" in r.get("postData", "")
    ]
    assert posts, "the query was not posted"
    sent = sent_headers(posts[0])
    assert sent.get(TEST_HEADER[0].lower()) == TEST_HEADER[1], sent

    assert not severe_console_messages(browser)


async def test_a_graphiql_subscription_shows_a_change_made_elsewhere_until_stopped(
    browser: WebDriver,
) -> None:
    """The demo's promise: subscribe in GraphiQL with no key and no extra step, change a
    candidate from elsewhere (here a mutation over HTTP, as from another tab), and the event
    shows in the response pane; pressing stop ends the subscription on the server."""
    async with demo_environment() as demo, live_gateway(demo.settings) as gateway:
        demo.send_webhooks_to(gateway.url)
        try:
            events = await subscribe_see_and_stop(browser, demo, gateway)
        finally:
            # Whatever failed, the page lets go of its stream: the server's shutdown waits for
            # every open connection.
            await asyncio.to_thread(browser.get, "about:blank")
    requests = network_requests(events)
    origin = urlsplit(gateway.url).netloc
    assert not outside(requests, origin), f"requests left {origin}: {outside(requests, origin)}"
    streams = [
        r
        for r in requests
        if r.get("method") == "POST" and "candidateChanged" in r.get("postData", "")
    ]
    assert len(streams) == 1, streams  # one subscription, over one request (not a socket)
    sent = sent_headers(streams[0])
    assert sent.get("accept") == "text/event-stream", sent
    assert sent.get(TEST_HEADER[0].lower()) == TEST_HEADER[1], sent  # as for queries
    failed = [
        params
        for method, params in events
        if method == "Network.loadingFailed" and params["requestId"] == streams[0]["requestId"]
    ]
    assert failed and failed[0].get("canceled"), failed  # stop aborted the fetch

    assert not severe_console_messages(browser)


async def subscribe_see_and_stop(
    browser: WebDriver, demo: DemoEnvironment, gateway: LiveGateway
) -> list[tuple[str, dict[str, Any]]]:
    """Runs SUBSCRIPTION on the page, retitles a Merge candidate over HTTP once the server
    follows the subscription, waits for the event in the pane, presses stop and waits for the
    server to end the subscription. Returns the page's DevTools events."""
    from selenium.webdriver.common.by import By

    changes = gateway.app.state.changes
    merge = demo.demos["merge"].emulator
    remote_id = str(next(iter(merge.accounts["merge_demo_initech"].candidates)))  # type: ignore[attr-defined]
    candidate_id = encode_id("Candidate", "merge-initech", remote_id)
    title = "Seen live in GraphiQL"

    def pane() -> str:
        text: str = browser.find_element(By.CSS_SELECTOR, RESPONSE).text
        return text

    async def following_or_answered() -> bool:
        return changes.following == 1 or bool(await asyncio.to_thread(pane))

    await asyncio.to_thread(open_graphiql, browser, f"{gateway.url}/graphql")
    await asyncio.to_thread(run_operation, browser, SUBSCRIPTION)
    await until(following_or_answered, within=WITHIN)
    assert changes.following == 1, pane()  # subscribed; an error shows in the pane instead

    answer = await gateway.http.post(
        f"{gateway.url}/graphql",
        json={"query": RETITLE, "variables": {"id": candidate_id, "title": title}},
    )
    assert answer.status_code == 200 and "errors" not in answer.json(), answer.text

    shown = await asyncio.to_thread(wait_for_response, browser, lambda text: title in text)
    assert json.loads(shown)["data"]["candidateChanged"] == {
        "kind": "UPDATED",
        "id": candidate_id,
        "account": {"id": "merge-initech"},
        "candidate": {"title": title},
    }

    await asyncio.to_thread(press_stop, browser)
    await until(lambda: changes.following == 0, within=WITHIN)  # the server ended it
    await asyncio.to_thread(wait_until_idle, browser)
    return await asyncio.to_thread(devtools_events, browser)


async def test_a_graphiql_subscription_carries_the_key_from_the_headers_editor(
    browser: WebDriver,
) -> None:
    """With client keys, a subscription typed with no key shows the gateway's refusal, and the
    same subscription runs once the key is in the headers editor, as for a query."""
    key = "atsg_graphiql_live_key_3c9a"
    async with demo_environment() as demo:
        keyed = dataclasses.replace(demo.settings, clients=(Client("viewer", hash_key(key)),))
        async with live_gateway(keyed) as gateway:
            changes = gateway.app.state.changes
            try:
                await asyncio.to_thread(open_graphiql, browser, f"{gateway.url}/graphql")
                await asyncio.to_thread(run_operation, browser, SUBSCRIPTION, {})
                refused = await asyncio.to_thread(
                    wait_for_response, browser, lambda text: "UNAUTHENTICATED" in text
                )
                assert json.loads(refused)["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
                assert changes.following == 0
                await asyncio.to_thread(wait_until_idle, browser)  # a refusal ends it

                authorization = {"Authorization": f"Bearer {key}"}
                await asyncio.to_thread(run_operation, browser, SUBSCRIPTION, authorization)
                await until(lambda: changes.following == 1, within=WITHIN)
                await asyncio.to_thread(press_stop, browser)
                await until(lambda: changes.following == 0, within=WITHIN)
            finally:
                await asyncio.to_thread(browser.get, "about:blank")
