"""The real stack for the browser tests, built from the suite's own fixtures: Postgres and Redis
(tests/conftest.py), a migrated database, kubesim, a worker process with the sweep (worker/fixtures.py),
the watcher's ClusterWatch (watcher/realtime_fixtures.py), and the API serving the built console on a
real port that survives a restart (so a page left open sees the same address come back)."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from podium_api.app import create_app
from podium_api.console import default_dir
from podium_api.settings import ApiSettings
from podium_shared.auth import passwords
from podium_shared.auth.service import create_user, get_user
from podium_shared.db.session import session_factory, unit_of_work
from podium_shared.embedded import free_port
from podium_shared.models.user import Role
from podium_shared.settings import PodiumSettings
from support.waiting import wait_until

PASSWORD = "e2e password 0123"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "services" / "console" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "img"


def console_dir() -> Path:
    built = default_dir()
    assert (built / "index.html").is_file(), f"the console is not built in {built}: run `make setup`"
    return built


class ApiServer:
    """uvicorn in a thread on a fixed port; stop() and start() again to restart it under open pages."""

    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> ApiServer:
        app = create_app(self.settings)
        server = uvicorn.Server(
            # Open WebSockets are closed after 2 s of graceful shutdown (a restart under open pages).
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                lifespan="on",
                timeout_graceful_shutdown=2,
            )
        )
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),), daemon=True)
        thread.start()

        def started() -> bool:
            assert thread.is_alive(), "uvicorn exited during start-up"
            return bool(server.started)

        wait_until(started, 15, "the API to start", interval=0.02)
        self._server, self._thread, self._loop = server, thread, loop
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=15)
        if self._loop is not None:
            self._loop.close()
        self._server = self._thread = self._loop = None


def api_settings_for(base: PodiumSettings) -> ApiSettings:
    return ApiSettings(
        **base.model_dump()
        | {
            "console_dir": console_dir(),
            "rate_limit_per_second": 1000.0,
            "rate_limit_burst": 1000,
            "login_user_burst": 1000,
            "login_address_burst": 1000,
        }
    )


@dataclass(frozen=True)
class Person:
    username: str
    role: Role
    token: str
    password: str = PASSWORD


def person(database_url: str, username: str, role: Role) -> Person:
    """A user with a console password of their own (no first-login change) and an API token."""
    with unit_of_work(session_factory(database_url)) as session:
        existing = get_user(session, username)
        assert existing is None, f"{username} exists"
        user, token = create_user(session, username, role)
        user.password_hash = passwords.hash_password(PASSWORD)
    return Person(username, role, token)
