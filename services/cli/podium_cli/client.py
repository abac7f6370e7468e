"""The HTTP client behind every user command, and the exit codes scripts can rely on.

Where the server and token come from, first match wins: `--server`/`--token`, the environment
(`PODIUM_URL`, `PODIUM_TOKEN`), then the file `podium login` writes (`$PODIUM_CONFIG`, else
`$XDG_CONFIG_HOME/podium/config.json`, else `~/.config/podium/config.json`)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import IO, Any

import httpx

DEFAULT_SERVER = "http://127.0.0.1:8000"
API_PREFIX = "/api/v1"


class ExitCode(IntEnum):
    ok = 0
    failed = 1  # the operation ran and failed (or was cancelled), or an audit chain is broken
    usage = 2  # bad arguments or a request the server rejected as invalid (400/409/413/422)
    not_found = 3
    auth = 4  # no token, a wrong token, or not allowed (401/403)
    unavailable = 5  # server unreachable, 5xx, or rate limited (429): try again later


def exit_code_for_status(status: int) -> ExitCode:
    if status == 404:
        return ExitCode.not_found
    if status in (401, 403):
        return ExitCode.auth
    if status == 429 or status >= 500:
        return ExitCode.unavailable
    return ExitCode.usage


class CliError(Exception):
    """An expected failure: printed as `error: <code>: <message>` on stderr, exits with `exit_code`
    (the root command group catches it; see podium_cli.main.PodiumGroup)."""

    def __init__(
        self, message: str, exit_code: ExitCode, *, code: str = "error", details: Any = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = int(exit_code)
        self.code = code
        self.details = details

    def show(self, file: IO[Any] | None = None) -> None:
        out = file or sys.stderr
        out.write(f"error: {self.code}: {self.message}\n")
        if self.details:
            out.write("details: " + json.dumps(self.details, sort_keys=True, default=str) + "\n")


def config_path() -> Path:
    explicit = os.environ.get("PODIUM_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "podium" / "config.json"


def read_config_file() -> dict[str, str]:
    path = config_path()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read {path}: {exc}", ExitCode.usage, code="bad_config") from None
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def write_config_file(server: str, token: str) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Created 0600 before the token is written, so it is never readable by others even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"server": server, "token": token}, f, indent=2)
    os.chmod(path, 0o600)
    return path


@dataclass(frozen=True)
class Connection:
    server: str
    token: str | None


def resolve_connection(server: str | None, token: str | None) -> Connection:
    stored = read_config_file()
    return Connection(
        server=(server or os.environ.get("PODIUM_URL") or stored.get("server") or DEFAULT_SERVER).rstrip("/"),
        token=token or os.environ.get("PODIUM_TOKEN") or stored.get("token"),
    )


class ApiClient:
    def __init__(self, conn: Connection, *, timeout: float = 30.0) -> None:
        self.conn = conn
        headers = {"Accept": "application/json", "User-Agent": "podium-cli"}
        if conn.token:
            headers["Authorization"] = f"Bearer {conn.token}"
        self._http = httpx.Client(base_url=conn.server + API_PREFIX, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            resp = self._http.request(method, path, params=clean, json=json_body, headers=headers)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
        check(resp)
        if resp.status_code == 204 or not resp.content:
            return None
        return resp.json()

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any = None, *, headers: dict[str, str] | None = None) -> Any:
        return self.request("POST", path, json_body=body, headers=headers)

    @contextmanager
    def stream(self, path: str, **params: Any) -> Iterator[httpx.Response]:
        """GET whose answer is read as it arrives (logs, events); error answers raise as in `request`."""
        with self._stream("GET", path, params=params) as resp:
            yield resp

    @contextmanager
    def stream_post(
        self, path: str, body: Any = None, *, timeout: float | None = None
    ) -> Iterator[httpx.Response]:
        """POST whose answer is read as it arrives (server-sent events from a model). `timeout`: the read
        timeout between chunks, for answers slower than the client's default."""
        with self._stream("POST", path, json_body=body, timeout=timeout) as resp:
            yield resp

    @contextmanager
    def _stream(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        timeout: float | None = None,
    ) -> Iterator[httpx.Response]:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        try:
            with self._http.stream(method, path, params=clean, json=json_body, **extra) as resp:
                if resp.status_code >= 400:
                    resp.read()
                check(resp)
                yield resp
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None

    def _unreachable(self, exc: httpx.HTTPError) -> CliError:
        return CliError(
            f"cannot reach the Podium server at {self.conn.server}: {exc}",
            ExitCode.unavailable,
            code="unavailable",
        )


def check(resp: httpx.Response) -> None:
    """Turns an error answer (`{code, message, details}`) into a CliError with the matching exit code."""
    if resp.status_code < 400:
        return
    code, message, details = f"http_{resp.status_code}", resp.reason_phrase, None
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        code = str(body.get("code") or code)
        message = str(body.get("message") or body.get("detail") or message)
        details = body.get("details")
    if resp.status_code == 429 and "Retry-After" in resp.headers:
        message += f" (retry after {resp.headers['Retry-After']}s)"
    raise CliError(message, exit_code_for_status(resp.status_code), code=code, details=details)


def items_of(page: Any) -> tuple[list[Any], str | None]:
    """A list answer is `{items, next_cursor}`; a bare list is accepted too."""
    if isinstance(page, dict):
        return list(page.get("items") or []), page.get("next_cursor")
    return list(page or []), None
