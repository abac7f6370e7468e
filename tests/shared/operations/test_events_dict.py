"""The operation event's shape: the WebSocket layer filters by namespace and shows pending cancels."""

from __future__ import annotations

import uuid

from podium_shared.models.operation import Operation, OperationStatus
from podium_shared.operations.events import operation_dict


def test_operation_dict_carries_namespace_and_cancel_requested() -> None:
    op = Operation(
        id=uuid.uuid4(),
        kind="scale",
        cluster="sim",
        namespace="team-a",
        params={"name": "web", "replicas": 2},
        status=OperationStatus.running,
        attempts=1,
        requested_by="alice",
        cancel_requested=True,
    )
    out = operation_dict(op)
    assert out["namespace"] == "team-a"
    assert out["cancel_requested"] is True
    assert out["status"] == "running"

    cluster_wide = Operation(id=uuid.uuid4(), kind="bulk", cluster="sim", params={}, requested_by="bob")
    out = operation_dict(cluster_wide)
    assert out["namespace"] is None
    assert out["cancel_requested"] is False
