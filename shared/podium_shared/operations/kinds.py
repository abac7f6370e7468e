"""The registry of command kinds: what `POST /api/v1/commands` accepts and what a worker runs for it.

Each domain lists its kinds in `<domain>/commands.py` as `KINDS: list[CommandKind]` (core Kubernetes verbs
in `podium_shared.workloads.commands`, model serving in `podium_shared.serving.commands`, …) and
`podium_shared.domains.install()` registers them all here; the pipeline never imports a domain. The API
uses a kind's `params` model to validate (422), its `min_role` to authorise, `target` to fill the audit
record and `secret_fields` to redact; the worker calls `handler` with the operation's params; an optional
`precheck` refuses or warns at accept time. Handlers must be idempotent: they are called again after a
crash."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from podium_shared.errors import PodiumError
from podium_shared.models.user import Role

if TYPE_CHECKING:
    from podium_shared.operations.context import ExecutionContext
    from podium_shared.operations.precheck import PrecheckContext


@dataclass(frozen=True)
class Target:
    """What an operation changes, for the audit log and for namespace-scoped authorisation."""

    namespace: str | None = None
    resource_kind: str | None = None
    resource_name: str | None = None


@dataclass(frozen=True)
class CommandKind:
    name: str
    params: type[BaseModel]
    handler: Callable[[ExecutionContext, Any], dict[str, Any]]
    min_role: Role = Role.operator
    queue: str = "commands"
    target: Callable[[Any], Target] = field(default=lambda _p: Target())
    # Params that must never be stored or audited in clear. The API moves them into the operation's
    # sealed (encrypted) params, which the worker opens and then erases.
    secret_fields: tuple[str, ...] = ()
    # Bulk-like kinds expand into child operations at accept time.
    expands: Callable[[Any], list[tuple[str, dict[str, Any]]]] | None = None
    # Called at accept time, after validation and authorisation, with the validated params: returns
    # warnings (stored on the operation and returned in the 202) or raises Invalid to refuse with 422.
    # It reads the watcher's snapshot only; the handler must still check against the cluster.
    precheck: Callable[[PrecheckContext, Any], list[str]] | None = None


# Items of one bulk command (the API's default `max_bulk_items` and the bulk params' own bound).
MAX_BULK_ITEMS = 5000

_KINDS: dict[str, CommandKind] = {}


def register(kind: CommandKind) -> CommandKind:
    if kind.name in _KINDS:
        raise RuntimeError(f"command kind {kind.name!r} registered twice")
    _KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> CommandKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise PodiumError(
            f"unknown command kind {name!r}",
            code="unknown_kind",
            status=422,
            details={"known": sorted(_KINDS)},
        ) from None


def all_kinds() -> dict[str, CommandKind]:
    return dict(_KINDS)
