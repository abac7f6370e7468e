"""MLflow filter strings and order-by clauses, built only from validated fields.

MLflow parses `filter_string` with sqlparse and strips the outer quotes of a value without unescaping it,
and sqlparse lets a backslash escape the closing quote. So no escaping scheme round-trips every string,
and the safe rule is to refuse what could end a literal early: a value may not contain a backslash, a
control character, or both quote kinds; it is wrapped in the quote kind it does not contain. Keys
(tag, metric, param names) must match a strict pattern and are wrapped in backticks, which that pattern
excludes. Whatever a user types therefore stays inside one literal: it can change what matches, never
the shape of the query."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from podium_shared.errors import Invalid

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-/ ]{0,249}$")
MAX_VALUE = 500
_FORBIDDEN = re.compile(r"[\\\x00-\x1f\x7f]")


class RunStatus(StrEnum):
    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"


# Attributes a user may sort by (MLflow's orderable run attributes Podium shows).
ORDER_ATTRIBUTES = frozenset({"start_time", "end_time", "run_name", "status"})
_ORDER_RE = re.compile(r"^(?P<what>[A-Za-z_]+)(?:\.(?P<key>.+?))?(?:\s+(?P<dir>ASC|DESC|asc|desc))?$")


def key(name: str, what: str = "tag") -> str:
    if not KEY_PATTERN.fullmatch(name):
        raise Invalid(
            f"{what} key {name!r} is not allowed: use letters, digits and _ . - / or spaces",
            code="invalid_filter",
        )
    return f"`{name}`"


def literal(value: str, what: str = "value") -> str:
    if len(value) > MAX_VALUE:
        raise Invalid(f"{what} is longer than {MAX_VALUE} characters", code="invalid_filter")
    if _FORBIDDEN.search(value):
        raise Invalid(f"{what} may not contain a backslash or control characters", code="invalid_filter")
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    raise Invalid(f"{what} may not contain both ' and \"", code="invalid_filter")


@dataclass(frozen=True)
class RunFilter:
    status: RunStatus | None = None
    tags: tuple[tuple[str, str], ...] = ()
    # Run-name search: case-insensitive substring (MLflow's ILIKE; `%` and `_` keep their LIKE meaning).
    text: str | None = None

    def to_mlflow(self) -> str:
        clauses = []
        if self.status is not None:
            clauses.append(f"attributes.status = '{RunStatus(self.status).value}'")
        for name, value in self.tags:
            clauses.append(f"tags.{key(name)} = {literal(value, f'tag {name!r}')}")
        if self.text:
            clauses.append(f"attributes.run_name ILIKE {literal(f'%{self.text}%', 'text')}")
        return " AND ".join(clauses)


def order_by(spec: str | None) -> list[str]:
    """`start_time` (newest first by default), `-start_time`, `start_time ASC`, `metrics.loss DESC`,
    `tags.model`, `params.lr` -> MLflow order_by. MLflow's SQL store breaks ties by start time and run
    id itself, so pages stay stable."""
    if not spec:
        return ["attributes.start_time DESC"]
    spec = spec.strip()
    descending = spec.startswith("-")
    m = _ORDER_RE.fullmatch(spec.lstrip("-"))
    if m is None:
        raise Invalid(f"order_by {spec!r} is not understood", code="invalid_order_by")
    what, name, direction = m["what"], m["key"], (m["dir"] or "").upper()
    if descending and direction:
        raise Invalid("order_by: give either a leading '-' or ASC/DESC, not both", code="invalid_order_by")
    direction = direction or ("DESC" if descending else "ASC")
    if name is None:
        if what not in ORDER_ATTRIBUTES:
            raise Invalid(
                f"order_by {what!r}: one of {', '.join(sorted(ORDER_ATTRIBUTES))}, metrics.<key>, "
                "params.<key> or tags.<key>",
                code="invalid_order_by",
            )
        clause = f"attributes.{what} {direction}"
    elif what in ("metrics", "params", "tags"):
        clause = f"{what}.{key(name, what[:-1])} {direction}"
    else:
        raise Invalid(f"order_by {what!r}.<key>: one of metrics, params, tags", code="invalid_order_by")
    return [clause]
