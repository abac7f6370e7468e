"""What a handler gets besides its params: the cluster's clients, opened secrets, and three ways to talk
back while it runs (progress, cancellation, log lines). A handler runs with no transaction open; each of
these methods uses its own short one, guarded by the claim's lock token so a worker that lost its lease
cannot write over a newer attempt."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from podium_shared.kube.clients import ClusterClients, clients_for
from podium_shared.models.operation import Operation
from podium_shared.operations import events
from podium_shared.operations.outcomes import Cancelled
from podium_shared.settings import PodiumSettings

log = logging.getLogger(__name__)


@dataclass
class ExecutionContext:
    operation_id: uuid.UUID
    cluster: str
    kind: str
    # Who asked and where: log lines carry both, since the WebSocket shows an operation's log only to
    # its requester and to users who may see its namespace (realtime.subscription.operation_visible).
    namespace: str | None
    attempt: int
    requested_by: str
    settings: PodiumSettings
    sessions: sessionmaker[Session]
    lock_token: uuid.UUID
    # Sealed params, opened for this attempt only; never logged, stored or published.
    secrets: dict[str, Any] = field(default_factory=dict, repr=False)
    _kube: ClusterClients | None = field(default=None, repr=False)

    @property
    def kube(self) -> ClusterClients:
        if self._kube is None:
            self._kube = clients_for(self.cluster, settings=self.settings, sessions=self.sessions)
        return self._kube

    def progress(self, **fields: Any) -> None:
        """Merge `fields` into the operation's progress and publish it."""
        with self.sessions.begin() as session:
            session.execute(
                text(
                    "UPDATE operations SET progress = COALESCE(progress, '{}'::jsonb) || CAST(:p AS jsonb) "
                    "WHERE id = :id AND lock_token = :tok"
                ),
                {"p": json.dumps(fields, default=str), "id": self.operation_id, "tok": self.lock_token},
            )
            op = session.get(Operation, self.operation_id, populate_existing=True)
            if op is not None:
                events.operation_changed(session, op)

    def cancel_requested(self) -> bool:
        with self.sessions() as session:
            return bool(
                session.scalar(select(Operation.cancel_requested).where(Operation.id == self.operation_id))
            )

    def check_cancelled(self) -> None:
        """Raise `Cancelled` if someone asked to cancel; call it between steps of a long handler."""
        if self.cancel_requested():
            raise Cancelled()

    def log(self, msg: str) -> None:
        log.info("operation %s: %s", self.operation_id, msg)
        events.operation_log(
            self.cluster,
            str(self.operation_id),
            msg,
            requested_by=self.requested_by,
            namespace=self.namespace,
        )
