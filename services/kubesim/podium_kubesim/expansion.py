"""What the kubelet does to a container's `command`, `args` and env `value`s before the process sees
them: `$(VAR)` becomes the value of an env var defined earlier in the container (left as written when
there is none), `$$` becomes `$`, any other `$` stays. A port of Kubernetes'
third_party/forked/golang/expansion, so Podium's doubled `$` (kube.resources.literal) reaches kubesim's
simulated processes exactly as the user typed it, as it reaches a real container."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def expand(text: str, env: Mapping[str, str]) -> str:
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch != "$" or i + 1 == n:
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":  # the escape
            out.append("$")
            i += 2
        elif nxt == "(" and (close := text.find(")", i + 2)) != -1:
            name = text[i + 2 : close]
            out.append(env.get(name, f"$({name})"))
            i = close + 1
        else:  # `$x`, or an unclosed `$(`: kept as written
            out.append("$" + nxt)
            i += 2
    return "".join(out)


def container_env(container: Mapping[str, Any]) -> dict[str, str]:
    """The container's env with plain values, each expanded against the ones before it (a `valueFrom`
    entry, which kubesim does not resolve, is the empty string)."""
    env: dict[str, str] = {}
    for e in container.get("env") or []:
        if isinstance(e, dict):
            env[str(e.get("name"))] = expand(str(e.get("value") or ""), env)
    return env


def container_argv(container: Mapping[str, Any]) -> list[str]:
    """`command` + `args` as the process receives them."""
    env = container_env(container)
    return [expand(str(a), env) for a in [*(container.get("command") or []), *(container.get("args") or [])]]
