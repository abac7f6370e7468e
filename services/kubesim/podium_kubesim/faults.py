"""Fault injection: error rates and deterministic "next N requests" failures per verb and resource."""

from __future__ import annotations

import itertools
import random
from dataclasses import asdict, dataclass, field
from typing import Any

from podium_kubesim import errors
from podium_kubesim.errors import ApiError

VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
STATUSES = (409, 429, 500, 503)


@dataclass
class FaultRule:
    id: int
    verb: str = "*"  # one of VERBS or "*"
    resource: str = "*"  # "pods", "deployments.apps" (or just "deployments") or "*"
    namespace: str = "*"
    status: int | None = None  # 409 | 429 | 500 | 503; None for a latency-only rule
    rate: float = 1.0  # probability per matching request (ignored while `count` is set)
    count: int | None = None  # fail exactly the next N matching requests, then the rule retires
    latency_seconds: float = 0.0
    retry_after: int = 1
    hits: int = field(default=0)

    def matches(self, verb: str, resource_key: str, namespace: str | None) -> bool:
        plural = resource_key.split(".", 1)[0]
        return (
            self.verb in ("*", verb)
            and self.resource in ("*", resource_key, plural)
            and self.namespace in ("*", namespace or "")
        )


class Faults:
    def __init__(self, seed: int | None = None) -> None:
        self.rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self._random = random.Random(seed)  # noqa: S311 - fault dice, not cryptography
        self.latency_seconds = 0.0  # added to every API request

    def add(self, spec: dict[str, Any]) -> FaultRule:
        try:
            return self._add(spec)
        except (TypeError, ValueError) as exc:
            raise errors.bad_request(f"invalid fault rule: {exc}") from None

    def _add(self, spec: dict[str, Any]) -> FaultRule:
        if not isinstance(spec, dict):
            raise errors.bad_request("a fault rule must be a JSON object")
        status = spec.get("status")
        if status is not None and int(status) not in STATUSES:
            raise errors.bad_request(f"status must be one of {list(STATUSES)}")
        verb = str(spec.get("verb", "*"))
        if verb != "*" and verb not in VERBS:
            raise errors.bad_request(f"verb must be one of {list(VERBS)} or '*'")
        rate = float(spec.get("rate", 1.0))
        if not 0.0 <= rate <= 1.0:
            raise errors.bad_request("rate must be between 0 and 1")
        count = spec.get("count")
        rule = FaultRule(
            id=next(self._ids),
            verb=verb,
            resource=str(spec.get("resource", "*")),
            namespace=str(spec.get("namespace", "*")),
            status=int(status) if status is not None else None,
            rate=rate,
            count=int(count) if count is not None else None,
            latency_seconds=float(spec.get("latency_seconds", 0.0)),
            retry_after=int(spec.get("retry_after", 1)),
        )
        self.rules.append(rule)
        return rule

    def remove(self, rule_id: int) -> bool:
        before = len(self.rules)
        self.rules = [r for r in self.rules if r.id != rule_id]
        return len(self.rules) != before

    def clear(self) -> None:
        self.rules.clear()
        self.latency_seconds = 0.0

    def check(
        self, verb: str, resource_key: str, namespace: str | None, name: str | None = None
    ) -> tuple[float, ApiError | None]:
        """Latency to add and the error to answer with (if any) for one request."""
        latency = self.latency_seconds
        error: ApiError | None = None
        for rule in list(self.rules):
            if not rule.matches(verb, resource_key, namespace):
                continue
            latency += rule.latency_seconds
            if rule.status is None or error is not None:
                continue
            fire = rule.count > 0 if rule.count is not None else self._random.random() < rule.rate
            if not fire:
                continue
            rule.hits += 1
            if rule.count is not None:
                rule.count -= 1
                if rule.count <= 0:
                    self.rules.remove(rule)
            error = _error_for(rule.status, rule.retry_after, resource_key, name)
        return latency, error

    def snapshot(self) -> dict[str, Any]:
        return {"latency_seconds": self.latency_seconds, "rules": [asdict(r) for r in self.rules]}


def _error_for(status: int, retry_after: int, resource_key: str, name: str | None) -> ApiError:
    if status == 429:
        return errors.too_many_requests(retry_after)
    if status == 503:
        return errors.service_unavailable()
    if status == 409:
        return ApiError(
            409,
            "Conflict",
            f'Operation cannot be fulfilled on {resource_key} "{name or ""}": '
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    return errors.internal_error("Internal error occurred: injected fault")
