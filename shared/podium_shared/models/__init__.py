"""One ORM model per module; importing this package registers them all on `Base.metadata`."""

from podium_shared.models.audit import AuditEvent
from podium_shared.models.base import Base
from podium_shared.models.cluster import Cluster
from podium_shared.models.idempotency import IdempotencyKey
from podium_shared.models.operation import Operation, OperationStatus
from podium_shared.models.telemetry import (
    LogCollectorLease,
    LogLine,
    LogStream,
    MetricPoint,
    TelemetryWorkload,
)
from podium_shared.models.user import ApiToken, Role, User

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Base",
    "Cluster",
    "IdempotencyKey",
    "LogCollectorLease",
    "LogLine",
    "LogStream",
    "MetricPoint",
    "Operation",
    "OperationStatus",
    "Role",
    "TelemetryWorkload",
    "User",
]
