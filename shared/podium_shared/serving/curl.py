"""The curl command equivalent to a test-console request, safe to paste into a POSIX shell for any payload.

Every word goes through `shlex.quote`, so quotes, `$(...)`, backticks, newlines and NUL-free binary text
in the body or headers stay literal data for the shell."""

from __future__ import annotations

import shlex


def curl_command(
    *,
    url: str,
    method: str = "GET",
    body: str | None = None,
    headers: dict[str, str] | None = None,
    stream: bool = False,
) -> str:
    argv = ["curl", "-sS"]
    if stream:
        argv.append("-N")  # print server-sent events as they arrive
    if method != "GET" or body is not None:
        argv += ["-X", method]
    for key, value in (headers or {}).items():
        argv += ["-H", f"{key}: {value}"]
    if body is not None:
        argv += ["--data-raw", body]
    argv.append(url)
    return " ".join(shlex.quote(a) for a in argv)
