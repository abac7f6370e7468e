"""The execute message written by `operations.publish` is the one `Celery.send_task` writes (but for its
fresh ids), so a Celery or kombu upgrade that changes the format fails here. That workers run it: every
accepted command in tests/integration/test_commands_*.py is sent this way."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

from podium_shared.operations import celery_app, publish
from worker.fixtures import Pipeline

_IDS = {"id", "root_id", "correlation_id", "delivery_tag"}


def _pop(pipeline: Pipeline, queue: str) -> dict[str, Any]:
    raw = pipeline.redis.rpop(queue)
    assert raw is not None
    message: dict[str, Any] = json.loads(raw)
    message["body"] = json.loads(base64.b64decode(message["body"]))
    for part in (message["headers"], message["properties"]):
        for key in _IDS & part.keys():
            part[key] = "<id>"
    return message


def test_the_message_is_the_one_send_task_writes(pipeline: Pipeline) -> None:
    # No worker runs in this module, so nothing takes the messages off the queue before the test does.
    op_id, queue = str(uuid.uuid4()), celery_app.QUEUE_MAINTENANCE
    app = celery_app.get_app()
    app.send_task(celery_app.EXECUTE_TASK, args=[op_id], queue=queue)
    from_celery = _pop(pipeline, queue)
    publish.execute(app, op_id, queue)
    assert _pop(pipeline, queue) == from_celery
    assert from_celery["body"][0] == [op_id]

    # A bulk's batch message (a list of ids) likewise.
    ids = [str(uuid.uuid4()) for _ in range(3)]
    app.send_task(celery_app.EXECUTE_BATCH_TASK, args=[ids], queue=queue)
    from_celery = _pop(pipeline, queue)
    publish.execute_batch(app, ids, queue)
    assert _pop(pipeline, queue) == from_celery
    assert from_celery["body"][0] == [ids]


def test_each_message_has_its_own_task_id_throughout(pipeline: Pipeline) -> None:
    """The message is built from a template per task and queue: the task's id must be fresh for each
    message and the same in every field that names it, and the arguments must be each message's own."""
    app, queue = celery_app.get_app(), celery_app.QUEUE_MAINTENANCE
    op_ids = [str(uuid.uuid4()) for _ in range(2)]
    publish.execute_many(app, op_ids, queue)
    seen = []
    for op_id in op_ids:  # LPUSH puts the first id where RPOP takes it first
        raw = pipeline.redis.rpop(queue)
        assert raw is not None
        message = json.loads(raw)
        body = json.loads(base64.b64decode(message["body"]))
        headers, properties = message["headers"], message["properties"]
        assert body[0] == [op_id]
        assert headers["argsrepr"] == repr([op_id])
        assert headers["id"] == headers["root_id"] == properties["correlation_id"]
        seen += [headers["id"], properties["delivery_tag"]]
    assert len(set(seen)) == 4
