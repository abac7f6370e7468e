"""core/v1 Events as controllers emit them, aggregated like client-go's recorder (count, lastTimestamp)."""

from __future__ import annotations

import secrets
from typing import Any

from podium_kubesim.errors import ApiError
from podium_kubesim.objutil import now_rfc3339
from podium_kubesim.resources import RESOURCES
from podium_kubesim.store import Store

EVENTS = RESOURCES["events"]
_MAX_REMEMBERED = 20_000


class EventRecorder:
    def __init__(self, store: Store) -> None:
        self._store = store
        # (namespace, involved uid, reason, message, type) -> event name, to bump counts instead of piling up
        self._seen: dict[tuple[str, str, str, str, str], str] = {}

    def record(  # noqa: PLR0917 - the EventRecorder contract controllers call positionally
        self,
        involved: dict[str, Any],
        reason: str,
        message: str,
        type: str = "Normal",
        component: str = "kubesim",
        host: str | None = None,
    ) -> dict[str, Any] | None:
        m = involved.get("metadata", {})
        namespace = m.get("namespace") or "default"
        key = (namespace, str(m.get("uid", "")), reason, message, type)
        now = now_rfc3339()
        name = self._seen.get(key)
        if name is not None and self._store.peek(EVENTS, namespace, name) is not None:

            def bump(ev: dict[str, Any]) -> None:
                ev["count"] = int(ev.get("count", 1)) + 1
                ev["lastTimestamp"] = now

            return self._store.mutate(EVENTS, namespace, name, bump, manager=component)
        name = f"{m.get('name', 'unknown')}.{secrets.token_hex(8)}"
        source: dict[str, str] = {"component": component}
        if host:
            source["host"] = host
        involved_ref: dict[str, Any] = {
            "apiVersion": involved.get("apiVersion", ""),
            "kind": involved.get("kind", ""),
            "name": m.get("name", ""),
            "namespace": m.get("namespace", ""),
            "uid": m.get("uid", ""),
            "resourceVersion": m.get("resourceVersion", ""),
        }
        if not m.get("namespace"):
            involved_ref.pop("namespace")
        event = {
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": involved_ref,
            "reason": reason,
            "message": message,
            "type": type,
            "source": source,
            "count": 1,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "reportingComponent": component,
            "reportingInstance": host or "",
        }
        try:
            # `event` is built here from strings: hand it over uncopied (the result is read-only).
            created = self._store.create(EVENTS, namespace, event, manager=component, owned=True)
        except ApiError:
            return None  # the namespace is gone or going: real recorders drop such events too
        if len(self._seen) >= _MAX_REMEMBERED:
            self._seen.clear()  # forgetting only costs a new Event object instead of a count bump
        self._seen[key] = name
        return created
