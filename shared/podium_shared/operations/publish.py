"""An execute message written straight onto the broker's list: what `Celery.send_task` would write, for a
quarter of its CPU.

`send_task` spent ~0.75 ms of CPU per accepted command (routing, a producer from the pool, kombu building a
Redis client object per publish), the largest single cost left in an accept. The message itself is
built by Celery (`amqp.as_task_v2`, protocol 2, with the arguments `send_task` passes); only kombu's Redis
transport envelope (`body` base64-encoded, `delivery_info`, `delivery_tag`) and the LPUSH are done here.
`tests/shared/operations/test_publish.py` compares a message written this way with one `send_task` writes,
field by field, so a Celery or kombu upgrade that changes either fails there, not in production.

Used for every execute message sent without a countdown (an accepted command's, sent with its events in
one round trip, the sweep's resends, the batches a bulk releases);
a retry's countdown (an ETA) keeps `send_task`. Sent from inside a worker task (the sweep), the message
does not name that task as its parent, which nothing reads."""

from __future__ import annotations

import base64
import re
import uuid
from typing import Any

import orjson
from celery import Celery
from celery.utils.saferepr import saferepr

from podium_shared.operations.celery_app import EXECUTE_BATCH_TASK, EXECUTE_TASK
from podium_shared.operations.events import redis_client

# An id `saferepr` writes as `repr` does: short (never shortened) and nothing it would quote differently.
_PLAIN_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def envelope(app: Celery, name: str, args: list[Any], queue: str) -> bytes:
    task_id = str(uuid.uuid4())
    headers, properties, body = _template(app, name, queue)
    # What `as_task_v2` puts in a message that depends on the task's id or arguments; the rest is the
    # template's, the same for every message of this task and queue from this thread.
    headers = {**headers, "id": task_id, "root_id": task_id, "argsrepr": _argsrepr(app, args)}
    properties = {**properties, "correlation_id": task_id, "delivery_tag": str(uuid.uuid4())}
    encoded = base64.b64encode(orjson.dumps([args, *body[1:]])).decode()
    return orjson.dumps(
        {
            "body": encoded,
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": headers,
            "properties": properties,
        }
    )


# (app, task name, queue, reply_to) -> the message `as_task_v2` builds for no arguments. Per thread through
# reply_to (`app.thread_oid`); built once, where each message cost a full `as_task_v2` and two `saferepr`s
# (~10 % of the group writer's CPU; docs/performance-accept.md, "Fourth pass").
_TEMPLATES: dict[tuple[int, str, str, str], tuple[dict[str, Any], dict[str, Any], list[Any]]] = {}


def _template(app: Celery, name: str, queue: str) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    reply_to = app.thread_oid
    key = (id(app), name, queue, reply_to)
    template = _TEMPLATES.get(key)
    if template is None:
        message = app.amqp.as_task_v2(
            "",
            name,
            args=[],
            reply_to=reply_to,
            create_sent_event=app.conf.task_send_sent_event,
            ignore_result=None,
        )
        properties = dict(message.properties)
        properties.update(
            delivery_mode=2,  # persistent, kombu's default
            delivery_info={"exchange": "", "routing_key": queue},
            priority=0,
            body_encoding="base64",
        )
        template = _TEMPLATES[key] = (dict(message.headers), properties, list(message.body))
    return template


def _argsrepr(app: Celery, args: list[Any]) -> str:
    """`as_task_v2`'s `saferepr(args)`; for one plain id (every execute message) that is plain `repr`."""
    if len(args) == 1 and isinstance(args[0], str) and _PLAIN_ID.fullmatch(args[0]):
        return repr(args)
    return str(saferepr(args, app.amqp.argsrepr_maxsize, maxlevels=app.conf.task_repr_maxlevels))


def task(app: Celery, name: str, args: list[Any], queue: str) -> None:
    """Publish one message for task `name` (raises when Redis does not take it)."""
    # Priority 0 is the queue's own key in kombu's Redis transport (other priorities get a suffix).
    redis_client().lpush(queue, envelope(app, name, args, queue))


def execute(app: Celery, op_id: str, queue: str) -> None:
    """Publish one execute message for `op_id`."""
    execute_many(app, [op_id], queue)


def execute_many(app: Celery, op_ids: list[str], queue: str) -> None:
    """One execute message per id, all in one LPUSH (the first id is consumed first)."""
    client: Any = redis_client()  # redis-py's stubs leave `execute_command` untyped
    client.execute_command(*execute_push(app, op_ids, queue))


def execute_push(app: Celery, op_ids: list[str], queue: str) -> tuple[Any, ...]:
    """The LPUSH `execute_many` sends, for a caller that sends it with other commands
    (`operations.aftercommit`)."""
    return ("LPUSH", queue, *(envelope(app, EXECUTE_TASK, [op_id], queue) for op_id in op_ids))


def execute_batch(app: Celery, op_ids: list[str], queue: str) -> None:
    """Publish one message for a batch of a bulk's children (`runner.execute_many`)."""
    task(app, EXECUTE_BATCH_TASK, [op_ids], queue)
