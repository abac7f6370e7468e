"""The test console: one OpenAI-compatible request to a model Service, forwarded through the Kubernetes API
server's service proxy (`invoke` builds and sends it). What `POST .../services/{ns}/{name}/invoke` runs."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from podium_shared.auth.principal import Principal
from podium_shared.kube.clients import clients_for
from podium_shared.serving import invoke, reads
from podium_shared.settings import PodiumSettings

log = logging.getLogger(__name__)


def invoke_service(
    session: Session,
    redis: Any,
    principal: Principal,
    cluster: str,
    *,
    namespace: str,
    name: str,
    body: invoke.InvokeRequest,
    settings: PodiumSettings,
    sessions: sessionmaker[Session],
) -> tuple[invoke.Upstream, invoke.Prepared]:
    """Find the Service the principal may see, send the request, and hand back the open upstream (the
    caller streams it or `invoke.collect`s it) with the prepared request (its curl command)."""
    svc = reads.find_service(session, redis, principal, cluster, namespace=namespace, name=name)
    prepared = invoke.prepare(svc, body)
    # Only reads so far: give the connection back before a call that may take a minute.
    session.close()
    kube = clients_for(cluster, settings=settings, sessions=sessions)
    upstream = invoke.send(kube, prepared, body)
    # Logged, not audited: a test request changes nothing. The body is never logged.
    log.info(
        "invoke user=%s cluster=%s service=%s/%s path=%s status=%s",
        principal.username, cluster, namespace, name, body.path, upstream.status,
    )  # fmt: skip
    return upstream, prepared
