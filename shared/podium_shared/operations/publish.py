"""An execute message written straight onto the broker's list: what `Celery.send_task` would write, for a
quarter of its CPU.

`send_task` spent ~0.75 ms of CPU per accepted command (routing, a producer from the pool, kombu building a
Redis client object per publish), the largest single cost left in an accept. The message itself is
built by Celery (`amqp.as_task_v2`, protocol 2, with the arguments `send_task` passes); only kombu's Redis
transport envelope (`body` base64-encoded, `delivery_info`, `delivery_tag`) and the LPUSH are done here.
`tests/shared/operations/test_publish.py` compares a message written this way with one `send_task` writes,
field by field, so a Celery or kombu upgrade that changes either fails there, not in production.

Used for every execute message sent without a countdown (an accepted command's, the sweep's resends,
the batches a bulk releases);
a retry's countdown (an ETA) keeps `send_task`. Sent from inside a worker task (the sweep), the message
does not name that task as its parent, which nothing reads."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

from celery import Celery

from podium_shared.operations.celery_app import EXECUTE_BATCH_TASK, EXECUTE_TASK
from podium_shared.operations.events import redis_client


def envelope(app: Celery, name: str, args: list[Any], queue: str) -> bytes:
    task_id = str(uuid.uuid4())
    message = app.amqp.as_task_v2(
        task_id,
        name,
        args=args,
        reply_to=app.thread_oid,
        create_sent_event=app.conf.task_send_sent_event,
        ignore_result=None,
    )
    properties = dict(message.properties)
    properties.update(
        delivery_mode=2,  # persistent, kombu's default
        delivery_info={"exchange": "", "routing_key": queue},
        priority=0,
        body_encoding="base64",
        delivery_tag=str(uuid.uuid4()),
    )
    body = base64.b64encode(json.dumps(message.body).encode()).decode()
    return json.dumps(
        {
            "body": body,
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": message.headers,
            "properties": properties,
        }
    ).encode()


def task(app: Celery, name: str, args: list[Any], queue: str) -> None:
    """Publish one message for task `name` (raises when Redis does not take it)."""
    # Priority 0 is the queue's own key in kombu's Redis transport (other priorities get a suffix).
    redis_client().lpush(queue, envelope(app, name, args, queue))


def execute(app: Celery, op_id: str, queue: str) -> None:
    """Publish one execute message for `op_id`."""
    execute_many(app, [op_id], queue)


def execute_many(app: Celery, op_ids: list[str], queue: str) -> None:
    """One execute message per id, all in one LPUSH (the first id is consumed first)."""
    redis_client().lpush(queue, *(envelope(app, EXECUTE_TASK, [op_id], queue) for op_id in op_ids))


def execute_batch(app: Celery, op_ids: list[str], queue: str) -> None:
    """Publish one message for a batch of a bulk's children (`runner.execute_many`)."""
    task(app, EXECUTE_BATCH_TASK, [op_ids], queue)
