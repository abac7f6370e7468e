"""Handing operations to Celery, strictly after the commit that created them.

`dispatch_after_commit` buffers the send on the session; it runs only once the transaction is durable,
then hands the id to the process's stamper (`operations.stamping`), which sets `dispatched_at` in batches
off the request's path. If the process dies in between, or Redis is down, the row stays queued with
`dispatched_at` NULL and the sweep sends it. Sending twice is harmless: the runner's guarded claim lets only
one delivery execute."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from podium_shared.db.session import after_commit, transaction_scoped
from podium_shared.models.operation import Operation
from podium_shared.operations import aftercommit, publish, stamping
from podium_shared.operations.celery_app import EXECUTE_TASK, QUEUE_BULK, get_app
from podium_shared.operations.events import redis_client
from podium_shared.settings import current_settings

log = logging.getLogger(__name__)

_TO_SEND = "podium.dispatch.accepted"


def queue_for(op: Operation) -> str:
    # Bulk children always go to the bulk queue so they never delay single commands.
    return QUEUE_BULK if op.parent_id is not None else op.queue


def dispatch_after_commit(session: Session, op: Operation) -> None:
    """Send `op` to a worker once `session` commits. Bulk children are ignored here: their parent releases
    them a few at a time (see `operations.bulk`), which is how bulk concurrency is bounded."""
    if op.parent_id is not None:
        return
    # The operations a transaction accepts (a group commit writes dozens) leave in one LPUSH per queue, in
    # the round trip that carries the transaction's events (`aftercommit`).
    by_queue: dict[str, list[uuid.UUID]]
    by_queue, first = transaction_scoped(session, _TO_SEND, dict)
    if first:
        aftercommit.add(session, _TO_SEND, redis_client, *_sender(_engine(session), by_queue))
    by_queue.setdefault(queue_for(op), []).append(op.id)


def _sender(
    engine: Engine, by_queue: dict[str, list[uuid.UUID]]
) -> tuple[aftercommit.Build, aftercommit.Settle]:
    def build() -> list[tuple[Any, ...]]:
        app = get_app()
        return [
            publish.execute_push(app, [str(i) for i in op_ids], queue) for queue, op_ids in by_queue.items()
        ]

    def settle(replies: list[Any]) -> None:
        for (queue, op_ids), reply in zip(by_queue.items(), replies, strict=True):
            if isinstance(reply, Exception):
                log.warning("could not send %d operations to %s; the sweep resends them", len(op_ids), queue,
                            exc_info=reply)  # fmt: skip
                continue
            stamping.stamp_later(engine, op_ids)

    return build, settle


def send_after_commit(
    session: Session,
    op_ids: Iterable[uuid.UUID],
    queue: str,
    countdown: float | None = None,
    *,
    stamp: bool = False,
) -> None:
    """Send ids once `session` commits. Callers that set `dispatched_at` in their own transaction (bulk
    releases, the sweep) leave `stamp` off and save a round trip; a retry, which clears it, stamps."""
    engine = _engine(session)
    ids = list(op_ids)
    if not ids:
        return

    def _send_all() -> None:
        for op_id in ids:
            send(engine, op_id, queue, countdown=countdown, stamp=stamp)

    after_commit(session, _send_all)


def send_batches_after_commit(session: Session, op_ids: Iterable[uuid.UUID]) -> None:
    """Send released bulk children once `session` commits, `bulk_batch_size` ids per message: a worker
    runs each message's children together (`runner.execute_many`). Their `dispatched_at` was set by the
    release in the same transaction; a lost message is re-sent by the sweep one id at a time."""
    ids = [str(op_id) for op_id in op_ids]
    if not ids:
        return
    size = max(current_settings().bulk_batch_size, 1)

    def _send_all() -> None:
        for start in range(0, len(ids), size):
            chunk = ids[start : start + size]
            try:
                publish.execute_batch(get_app(), chunk, QUEUE_BULK)
            except Exception:
                log.warning(
                    "could not send %d bulk items; the sweep will resend them", len(chunk), exc_info=True
                )

    after_commit(session, _send_all)


def send(
    engine: Engine, op_id: uuid.UUID, queue: str, countdown: float | None = None, *, stamp: bool = True
) -> bool:
    """Publish one execute message and have `dispatched_at` stamped (soon, by the stamper); False (and
    logged) if the broker refused."""
    try:
        if countdown:
            get_app().send_task(EXECUTE_TASK, args=[str(op_id)], queue=queue, countdown=countdown)
        else:
            publish.execute(get_app(), str(op_id), queue)
    except Exception:
        log.warning("could not send operation %s; the sweep will resend it", op_id, exc_info=True)
        return False
    if stamp:
        stamping.stamp_later(engine, [op_id])
    return True


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine
