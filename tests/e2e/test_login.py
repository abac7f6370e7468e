"""Signing in and out in a real browser: login (and back to the page asked for), a wrong password's
message, logout, and a session that ends on the server sending the page back to the login form."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import BrowserContext, expect
from podium_shared.db.session import unit_of_work
from podium_shared.models.base import utcnow
from podium_shared.models.console_session import ConsoleSession
from sqlalchemy import update
from worker.fixtures import Pipeline

from e2e.conftest import check_accessibility, screenshot, sign_in
from e2e.stack import ApiServer, Person


def test_login_lands_on_the_page_asked_for_and_logout_ends_the_session(
    new_context: Callable[..., BrowserContext], people: dict[str, Person], sim_cluster: str, api: ApiServer
) -> None:
    page = new_context().new_page()
    page.goto(f"/c/{sim_cluster}/overview")
    expect(page).to_have_url(re.compile(r"/login"))
    check_accessibility(page, "login")
    screenshot(page, "login")
    admin = people["admin"]
    page.get_by_test_id("login-username").fill(admin.username)
    page.get_by_test_id("login-password").fill(admin.password)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("whoami")).to_contain_text(admin.username)
    expect(page).to_have_url(f"{api.url}/c/{sim_cluster}/overview")
    cookie = next(c for c in page.context.cookies() if c["name"] == "podium_session")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"

    page.get_by_test_id("logout").click()
    expect(page.get_by_test_id("login-submit")).to_be_visible()
    page.goto(f"/c/{sim_cluster}/overview")
    expect(page.get_by_test_id("login-submit")).to_be_visible()


def test_a_wrong_password_says_so_without_saying_which(
    new_context: Callable[..., BrowserContext], people: dict[str, Person]
) -> None:
    page = new_context().new_page()
    page.goto("/login")
    page.get_by_test_id("login-username").fill(people["viewer"].username)
    page.get_by_test_id("login-password").fill("not the password")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("error-message")).to_have_text("Wrong username or password.")
    expect(page.get_by_test_id("whoami")).to_have_count(0)


def test_an_expired_session_sends_the_page_back_to_login(
    new_context: Callable[..., BrowserContext],
    people: dict[str, Person],
    pipeline: Pipeline,
    sim_cluster: str,
) -> None:
    page = new_context().new_page()
    sign_in(page, people["operator"], goto=f"/login?next=/c/{sim_cluster}/overview")
    # The server ends every session of this user at its absolute expiry (moved to now, not waited for).
    with unit_of_work(pipeline.sessions) as s:
        s.execute(update(ConsoleSession).values(expires_at=utcnow()))
    page.goto("/operations")
    expect(page.get_by_test_id("login-submit")).to_be_visible()
