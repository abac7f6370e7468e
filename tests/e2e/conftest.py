"""Browser end-to-end tests: Playwright for Python driving Debian's Chromium (never a downloaded
browser) against the real stack (see stack.py)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator

import pytest
from integration.serving_helpers import watcher  # noqa: F401  (the real watcher, in a thread)
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from podium_shared.models.user import Role
from worker.fixtures import *  # noqa: F403  (pipeline, kubesim, sim_kubeconfig, sim_cluster, worker, kube …)
from worker.fixtures import Pipeline, WorkerProcess

from e2e.stack import AXE, CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, ApiServer, Person, api_settings_for, person

_names = itertools.count(1)
# Waits, not timings: a loaded 2-core CI machine may take seconds to render; nothing here measures speed
# but the one "within a second" check, which passes its own timeout.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def api(pipeline: Pipeline, worker: WorkerProcess, watcher: None) -> Iterator[ApiServer]:  # noqa: F811
    server = ApiServer(api_settings_for(pipeline.settings)).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def people(pipeline: Pipeline) -> dict[str, Person]:
    suffix = f"{os.getpid()}-{next(_names)}"
    return {
        role.value: person(pipeline.settings.database_url, f"{role.value}-{suffix}", role)
        for role in (Role.admin, Role.operator, Role.viewer)
    }


# Module scope, not session: Playwright's sync API keeps its own event loop running in this thread while it
# is open, so a later module in the same xdist worker calling asyncio.run() would fail with "cannot be
# called from a running event loop". Closing it at each module's end costs one Chromium start per module.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def new_context(browser: Browser, api: ApiServer) -> Iterator[Callable[..., BrowserContext]]:
    opened: list[BrowserContext] = []

    def open_(**options: object) -> BrowserContext:
        context = browser.new_context(base_url=api.url, viewport={"width": 1400, "height": 900}, **options)
        context.set_default_timeout(15_000)
        opened.append(context)
        return context

    yield open_
    for context in opened:
        context.close()


def sign_in(page: Page, who: Person, *, goto: str = "/login") -> None:
    page.goto(goto)
    page.get_by_test_id("login-username").fill(who.username)
    page.get_by_test_id("login-password").fill(who.password)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("whoami")).to_contain_text(who.username)


@pytest.fixture
def signed_in(new_context: Callable[..., BrowserContext]) -> Callable[[Person], Page]:
    def open_(who: Person) -> Page:
        page = new_context().new_page()
        sign_in(page, who)
        return page

    return open_


def check_accessibility(page: Page, name: str) -> None:
    """axe-core on the page as it is now; serious and critical violations fail the test."""
    # The pointer left on a just-clicked button would be measured in its hover colours.
    page.mouse.move(0, 0)
    # ... and, while its colour transition runs, in a colour between the two: wait for the transitions and
    # other finite animations to end (a spinner's endless one never does, so it is left out).
    page.evaluate(
        """() => Promise.all(document.getAnimations()
            .filter((a) => a.effect && a.effect.getComputedTiming().endTime !== Infinity)
            .map((a) => a.finished.catch(() => null)))"""
    )
    page.evaluate(AXE.read_text())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v.get("impact") in ("serious", "critical")
    ]
    assert not bad, f"{name}: axe-core violations:\n" + "\n".join(bad)


def screenshot(page: Page, name: str) -> None:
    """Saved into docs/img/ only when PODIUM_SCREENSHOTS=1, so ordinary runs leave the tree clean."""
    if os.environ.get("PODIUM_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
