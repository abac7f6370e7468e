"""Training reads (from the watcher's snapshot): a training job's page and the model downloads. Submitting,
deleting and downloading are command kinds on `POST /api/v1/commands`; nothing here changes the cluster.
The list of training jobs is the generic `GET /clusters/{cluster}/trainingjobs`."""

from __future__ import annotations

from fastapi import APIRouter
from podium_shared.training import reads
from podium_shared.training.schemas import DownloadOut, TrainingJobPage

from podium_api.deps import RedisDep, SessionDep, ViewerDep

router = APIRouter(tags=["training"])


@router.get("/clusters/{cluster}/trainingjobs/{namespace}/{name}")
def training_job(
    *, cluster: str, namespace: str, name: str, session: SessionDep, redis: RedisDep, principal: ViewerDep
) -> TrainingJobPage:
    """Type, settings, status and conditions, pods (role, node, phase, restarts), events, start, end,
    duration and the latest metrics of one training job."""
    return reads.training_job(session, redis, principal, cluster, namespace=namespace, name=name)


@router.get("/clusters/{cluster}/downloads")
def downloads(
    *, cluster: str, session: SessionDep, redis: RedisDep, principal: ViewerDep, namespace: str | None = None
) -> list[DownloadOut]:
    """Model downloads to the shared volume: model, revision, status and progress."""
    return [
        DownloadOut.model_validate(d) for d in reads.downloads(session, redis, principal, cluster, namespace)
    ]
