"""Accepting, reading and cancelling operations: the command path's front half.

`accept_command` validates (the kind's pydantic params), authorises (role, namespace), writes the Operation
(and one child per item for kinds that expand) with its audit event in the caller's transaction, and
registers the Celery send to run after the commit. Refusals raise a PodiumError with an audit record
attached (`audit.attempts`), which the API writes in a transaction of its own."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError
from sqlalchemy.orm import Session

from podium_shared import crypto
from podium_shared.audit.attempts import audited
from podium_shared.audit.redact import REDACTED
from podium_shared.audit.service import record_request, record_request_at_commit
from podium_shared.auth.principal import Principal, RequestMeta
from podium_shared.clusters.service import KnownClusters, require_cluster
from podium_shared.errors import Conflict, Forbidden, Invalid, NotFound, PodiumError
from podium_shared.idempotency import service as idempotency
from podium_shared.models.base import utcnow
from podium_shared.models.operation import Operation, OperationStatus
from podium_shared.models.user import Role
from podium_shared.operations import bulk, dispatch, events, repository
from podium_shared.operations.celery_app import QUEUE_BULK
from podium_shared.operations.kinds import MAX_BULK_ITEMS, CommandKind, Target, all_kinds, get_kind
from podium_shared.operations.precheck import ACCEPT_WARNINGS, PrecheckContext, SnapshotMissing
from podium_shared.operations.schemas import CommandKindOut, OperationFilter

SECRET_PLACEHOLDER = REDACTED
# A few hundred item errors help nobody and make a huge 422; the first ones show the pattern.
_MAX_ITEM_ERRORS = 20


def _validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    # Never echo `input`: it may be the secret that failed validation.
    return [
        {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors(include_url=False)
    ]


def _parse(kind: CommandKind, params: dict[str, Any]) -> BaseModel:
    try:
        return kind.params.model_validate(params)
    except ValidationError as exc:
        raise Invalid(
            f"invalid params for {kind.name!r}",
            code="invalid_params",
            details={"errors": _validation_details(exc)},
        ) from None


def _split_secrets(kind: CommandKind, model: BaseModel) -> tuple[dict[str, Any], dict[str, Any]]:
    """(params to store, with secrets as "***"; the secrets in clear, to seal)."""
    stored: dict[str, Any] = model.model_dump(mode="json")
    secrets: dict[str, Any] = {}
    for name in kind.secret_fields:
        value = getattr(model, name, None)
        if value is None:
            continue
        secrets[name] = value.get_secret_value() if isinstance(value, SecretStr) else value
        stored[name] = SECRET_PLACEHOLDER
    return stored, secrets


def _strip_named(value: Any, names: frozenset[str]) -> Any:
    """Secret fields of child kinds inside a bulk parent's own params (its items list)."""
    if isinstance(value, dict):
        return {
            k: SECRET_PLACEHOLDER if k in names and v is not None else _strip_named(v, names)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_strip_named(v, names) for v in value]
    return value


class _Planned:
    """One operation to insert: its kind, validated params split into stored and sealed, its target."""

    def __init__(self, kind: CommandKind, model: BaseModel) -> None:
        self.kind = kind
        self.model = model
        self.target: Target = kind.target(model)
        self.stored, self.secrets = _split_secrets(kind, model)

    def build(self, *, cluster: str, principal: Principal, meta: RequestMeta, **extra: Any) -> Operation:
        extra.setdefault("queue", self.kind.queue)
        return Operation(
            id=uuid.uuid4(),
            kind=self.kind.name,
            cluster=cluster,
            namespace=self.target.namespace,
            params=self.stored,
            sealed_params=crypto.seal(self.secrets) if self.secrets else None,
            status=OperationStatus.queued,
            attempts=0,
            requested_by=principal.username,
            request_id=meta.request_id,
            cancel_requested=False,
            # Set here, not by a column default: the event and the answer are built from the object before
            # the transaction writes it, and `repository.add_new` computes no defaults.
            created_at=utcnow(),
            **extra,
        )


def _authorise(principal: Principal, kind: CommandKind, target: Target, where: str = "") -> None:
    if not principal.has_role(kind.min_role):
        raise Forbidden(
            f"{kind.name!r}{where} needs the {kind.min_role.value} role; you are {principal.role.value}",
            details={"required_role": kind.min_role.value},
        )
    if not principal.can_access_namespace(target.namespace):
        scope = f"namespace {target.namespace!r}" if target.namespace else "cluster-wide resources"
        raise Forbidden(f"you may not change {scope}{where}", details={"namespace": target.namespace})


def _plan_children(principal: Principal, parent: _Planned, max_items: int) -> list[_Planned]:
    assert parent.kind.expands is not None
    items = parent.kind.expands(parent.model)
    if not items:
        raise Invalid(f"{parent.kind.name!r} needs at least one item", code="empty_bulk")
    if len(items) > max_items:
        raise Invalid(
            f"{len(items)} items is more than the {max_items} one request may carry; split the work",
            code="bulk_too_large",
            details={"items": len(items), "max_items": max_items},
        )
    children: list[_Planned] = []
    errors: list[dict[str, Any]] = []
    for index, (child_kind_name, child_params) in enumerate(items):
        try:
            child_kind = get_kind(child_kind_name)
            if child_kind.expands is not None:
                raise Invalid(f"item kind {child_kind_name!r} cannot be nested in {parent.kind.name!r}")
            child = _Planned(child_kind, _parse(child_kind, child_params))
            _authorise(principal, child_kind, child.target, where=f" (item {index})")
        except Forbidden:
            raise
        except PodiumError as exc:
            if len(errors) < _MAX_ITEM_ERRORS:
                errors.append({"item": index, "code": exc.code, "message": exc.message, **exc.details})
            continue
        children.append(child)
    if errors:
        raise Invalid(
            f"{len(items) - len(children)} of {len(items)} items are invalid",
            code="invalid_params",
            details={"items": errors},
        )
    return children


def _precheck(kind: CommandKind, model: BaseModel, cluster: str, redis: Any | None) -> list[str]:
    if kind.precheck is None:
        return []
    ctx = PrecheckContext(cluster=cluster, redis=redis)
    try:
        return kind.precheck(ctx, model)
    except SnapshotMissing:
        return [ctx.no_snapshot_warning()]


def _accepted_details(op: Operation, items: int, warnings: list[str]) -> dict[str, Any]:
    details: dict[str, Any] = {"params": op.params}
    if items:
        details["items"] = items
    if warnings:
        details["warnings"] = warnings
    return details


@dataclass
class PreparedCommand:
    """A command that passed validation, authorisation and the pre-check, not yet written (or, for a
    repeated idempotency key, the operation the first request wrote: `existing`)."""

    principal: Principal
    meta: RequestMeta
    action: str
    cluster: str
    plan: _Planned | None = None
    children: list[_Planned] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    idempotency_key: str | None = None
    body_hash: str = ""
    existing: Operation | None = None


def accept_command(
    session: Session,
    principal: Principal,
    meta: RequestMeta,
    *,
    kind: str,
    cluster: str,
    params: dict[str, Any],
    idempotency_key: str | None,
    max_bulk_items: int = MAX_BULK_ITEMS,
    redis: Any | None = None,
) -> Operation:
    """Validate, authorise and write one command in the caller's transaction (`prepare_command`, then
    `write_command`). The operation is written before this returns: the caller holds a persistent object,
    as after `session.add` and a flush (`write_command` alone leaves it to be written with others)."""
    prepared = prepare_command(
        session,
        principal,
        meta,
        kind=kind,
        cluster=cluster,
        params=params,
        idempotency_key=idempotency_key,
        max_bulk_items=max_bulk_items,
        redis=redis,
    )
    op = write_command(session, prepared)
    repository.write_new(session)
    return op


def prepare_command(
    session: Session,
    principal: Principal,
    meta: RequestMeta,
    *,
    kind: str,
    cluster: str,
    params: dict[str, Any],
    idempotency_key: str | None,
    max_bulk_items: int = MAX_BULK_ITEMS,
    redis: Any | None = None,
    known_clusters: KnownClusters | None = None,
    epoch: bytes | None = None,
) -> PreparedCommand:
    """Everything before the first write: reads only, so a refusal (a PodiumError with its audit record)
    leaves the transaction as it was and other commands can still be written in it (the API's group
    commit relies on this). `redis`: the watcher's snapshot for kinds with a `precheck`; without it their
    check is skipped (with a warning) and left to the worker. `known_clusters` and `epoch`: the API's
    process-wide answer to "is the cluster registered", good while the auth epoch it read is current."""
    action = f"command.{kind}"[:64]
    prepared = PreparedCommand(principal, meta, action, cluster, idempotency_key=idempotency_key)
    attempt: dict[str, Any] = {
        "cluster": cluster,
        "request_id": meta.request_id,
        "client_addr": meta.client_addr,
    }
    try:
        if idempotency_key is not None:
            # Only a keyed request is compared with an earlier one; hashing every body cost CPU for nothing.
            body = {"kind": kind, "cluster": cluster, "params": params}
            prepared.body_hash = idempotency.request_hash(body)
            idempotency.validate_key(idempotency_key)
            existing = idempotency.lookup(session, principal.username, idempotency_key, prepared.body_hash)
            if existing is not None:
                prepared.existing = repository.get(session, existing)
                if prepared.existing is not None:
                    return prepared
        command = get_kind(kind)
        # The role check comes before validation: a viewer learns nothing about the params schema.
        if not principal.has_role(command.min_role):
            _authorise(principal, command, Target())
        require_cluster(session, cluster, known=known_clusters, epoch=epoch)
        plan = prepared.plan = _Planned(command, _parse(command, params))
        attempt.update(namespace=plan.target.namespace, resource_kind=plan.target.resource_kind)
        attempt.update(resource_name=plan.target.resource_name)
        if command.expands:
            prepared.children = _plan_children(principal, plan, max_bulk_items)
        if not prepared.children:
            _authorise(principal, command, plan.target)
        # After authorisation: someone who may not deploy learns nothing about the cluster's capacity.
        prepared.warnings = _precheck(command, plan.model, cluster, redis)
    except Forbidden as exc:
        raise audited(exc, principal, action, "denied", **attempt) from None
    except NotFound as exc:
        # An unknown cluster in a body is a bad request, not a missing URL.
        raise audited(
            Invalid(exc.message, code=exc.code, details=exc.details), principal, action, "invalid", **attempt
        ) from None
    except PodiumError as exc:
        raise audited(exc, principal, action, "invalid", **attempt) from None
    return prepared


def write_command(session: Session, prepared: PreparedCommand) -> Operation:
    """Write a prepared command: the operation (and its children), its idempotency key, its audit row (at
    commit), its event and its send (after commit). A repeated idempotency key writes nothing: the answer is
    the first request's operation."""
    if prepared.existing is not None:
        return prepared.existing
    plan, children, warnings = prepared.plan, prepared.children, prepared.warnings
    principal, meta, cluster = prepared.principal, prepared.meta, prepared.cluster
    assert plan is not None, "prepare_command plans every command it does not answer from `existing`"
    extra: dict[str, Any] = {}
    if children:
        secret_names = frozenset(name for c in children for name in c.kind.secret_fields)
        plan.stored = _strip_named(plan.stored, secret_names)
        namespaces = {c.target.namespace for c in children}
        plan.target = Target(
            namespace=namespaces.pop() if len(namespaces) == 1 else None,
            resource_kind=plan.target.resource_kind,
            resource_name=plan.target.resource_name,
        )
        extra = {
            "progress": {"total": len(children), "succeeded": 0, "failed": 0, "cancelled": 0},
            "concurrency": getattr(plan.model, "concurrency", None),
        }
    if warnings:
        # The worker keeps this key when it writes its own result (operations.runner._finish).
        extra["result"] = {ACCEPT_WARNINGS: warnings}
    op = plan.build(cluster=cluster, principal=principal, meta=meta, **extra)
    # Written with every other operation the transaction creates, in one INSERT (`repository.add_new`).
    repository.add_new(session, op)
    for c in children:
        child = c.build(cluster=cluster, principal=principal, meta=meta, parent_id=op.id, queue=QUEUE_BULK)
        repository.add_new(session, child)
    if prepared.idempotency_key is not None:
        repository.write_new(session)  # the key's row refers to the operation's
        idempotency.remember(session, principal.username, prepared.idempotency_key, prepared.body_hash, op.id)
    # Written when the request's transaction commits: the audit chain's lock is held only for that moment.
    record_request_at_commit(
        session,
        principal,
        meta,
        action=prepared.action,
        outcome="accepted",
        cluster=cluster,
        namespace=plan.target.namespace,
        resource_kind=plan.target.resource_kind,
        resource_name=plan.target.resource_name,
        operation_id=op.id,
        details=_accepted_details(op, len(children), warnings),
    )
    events.operation_changed(session, op, "ADDED")
    dispatch.dispatch_after_commit(session, op)
    return op


def get(session: Session, principal: Principal, op_id: uuid.UUID) -> Operation:
    op = repository.get(session, op_id)
    if op is None or not _visible(principal, op):
        raise NotFound(f"no operation {op_id}")
    return op


def _visible(principal: Principal, op: Operation) -> bool:
    return (
        principal.namespaces is None
        or op.requested_by == principal.username
        or (op.namespace is not None and op.namespace in principal.namespaces)
    )


def list_operations(
    session: Session, principal: Principal, f: OperationFilter, *, limit: int = 50, cursor: str | None = None
) -> tuple[Sequence[Operation], str | None]:
    return repository.page(session, principal, f, limit=limit, cursor=cursor)


def cancel(
    session: Session,
    principal: Principal,
    meta: RequestMeta,
    op_id: uuid.UUID,
    *,
    idempotency_key: str | None = None,
) -> Operation:
    """Queued: cancelled at once. Running: `cancel_requested`, honoured by the handler at its next check.
    A bulk parent: every child not yet started is cancelled; running children finish.

    With an Idempotency-Key, a retried cancel answers like the first one instead of 409."""
    body_hash = idempotency.request_hash({"cancel": str(op_id)})
    if idempotency_key is not None:
        try:
            idempotency.validate_key(idempotency_key)
            seen = idempotency.lookup(session, principal.username, idempotency_key, body_hash)
        except PodiumError as exc:
            raise audited(exc, principal, "operation.cancel", "invalid", operation_id=op_id) from None
        if seen is not None:
            return get(session, principal, op_id)
    op = repository.get(session, op_id)
    if op is not None and op.parent_id is not None:
        # An item of a bulk: its parent is locked first, as a cancel of the parent does (it locks itself,
        # then updates its queued children); the other order deadlocks two cancels of one bulk.
        repository.get(session, op.parent_id, for_update=True)
    op = repository.get(session, op_id, for_update=True)
    if op is None or not _visible(principal, op):
        raise NotFound(f"no operation {op_id}")
    attempt: dict[str, Any] = {
        "cluster": op.cluster,
        "namespace": op.namespace,
        "operation_id": op.id,
        "resource_kind": "operation",
        "resource_name": str(op.id),
    }
    if not principal.has_role(Role.operator):
        raise audited(
            Forbidden(f"cancelling needs the operator role; you are {principal.role.value}"),
            principal,
            "operation.cancel",
            "denied",
            **attempt,
        )
    if op.status.finished:
        raise audited(
            Conflict(f"operation {op.id} already {op.status.value}", code="already_finished"),
            principal,
            "operation.cancel",
            "invalid",
            **attempt,
        )
    cancelled_children = 0
    op.cancel_requested = True
    if op.progress is not None:
        # A bulk parent. Lock order as in operations.bulk: children are updated after the parent here,
        # and a finishing child only ever waits on the parent, never the other way round.
        cancelled_children = repository.cancel_queued_children(session, op.id)
        session.flush()
        bulk.recount(session, op)
    elif op.status == OperationStatus.queued:
        op.status, op.finished_at = OperationStatus.cancelled, utcnow()
        op.error = {"code": "cancelled", "message": f"cancelled by {principal.username}"}
        session.flush()
        # One item of a bulk: its parent counts it, hands its slot on, finishes after the last one.
        if op.parent_id is not None and (parent := bulk.child_finished(session, op)) is not None:
            bulk.finalise(session, parent)
    session.flush()
    record_request(
        session,
        principal,
        meta,
        action="operation.cancel",
        outcome="accepted",
        details={"status": op.status.value, "cancelled_children": cancelled_children},
        **attempt,
    )
    if idempotency_key is not None:
        idempotency.remember(session, principal.username, idempotency_key, body_hash, op.id)
    events.operation_changed(session, op)
    return op


def describe_kinds() -> list[CommandKindOut]:
    return [
        CommandKindOut(
            name=kind.name,
            min_role=kind.min_role.value,
            queue=kind.queue,
            secret_fields=list(kind.secret_fields),
            expands=kind.expands is not None,
            params_schema=kind.params.model_json_schema(),
        )
        for kind in sorted(all_kinds().values(), key=lambda k: k.name)
    ]
