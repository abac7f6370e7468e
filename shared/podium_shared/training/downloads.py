"""`download_model`: a Job that runs huggingface_hub's CLI into the shared volume, followed to its end.

The operation stays running while the Job runs: every poll reads the tail of the download pod's log and
turns huggingface_hub's progress bar (`Fetching 10 files:  30%|███       | 3/10 [00:05<00:11, ...]`) into
the operation's progress, so the console and `podium download` show it live. It ends with the Job
(Complete: succeeded at 100 %; Failed: failed with the Job's reason and the pod's last line), or after
`training_download_timeout_seconds` (the Job is left running and the error says so). Cancelling the
operation deletes the Job. A retried attempt (worker crash) re-applies the same objects and resumes
following; a Job that already finished answers at once."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from podium_shared.errors import Conflict, PodiumError
from podium_shared.kube import objects
from podium_shared.kube.clients import ClusterClients
from podium_shared.operations.outcomes import Cancelled
from podium_shared.settings import PodiumSettings
from podium_shared.training import labels as L
from podium_shared.training.manifests import (
    DOWNLOAD_CONTAINER,
    build_download_job,
    build_token_secret,
    download_name,
    local_dir,
    owner_reference,
    secret_name,
)
from podium_shared.training.schemas import DownloadModelParams

LOG_TAIL_LINES = 20
_FETCHING = re.compile(r"Fetching (\d+) files:\s*(\d+)%\|[^|]*\|\s*(\d+)/(\d+)")
_BAR = re.compile(r"(\d+)%\|")


@dataclass(frozen=True)
class DownloadProgress:
    percent: int
    files_done: int | None = None
    files_total: int | None = None


def parse_progress(log_tail: str) -> DownloadProgress | None:
    """The latest progress a huggingface_hub download printed (tqdm redraws with `\\r`, so both line ends
    count); the overall `Fetching N files` bar wins over a single file's bar."""
    lines = [part for line in log_tail.splitlines() for part in line.split("\r") if part.strip()]
    for line in reversed(lines):
        m = _FETCHING.search(line)
        if m:
            total = int(m.group(4))
            done = int(m.group(3))
            return DownloadProgress(min(100, int(m.group(2))), done, total)
    for line in reversed(lines):
        m = _BAR.search(line)
        if m:
            # A single file's bar: the whole download is not done until the Job says so.
            return DownloadProgress(min(99, int(m.group(1))))
    return None


def job_state(job: dict[str, Any]) -> tuple[str, str | None]:
    """(Pending | Running | Succeeded | Failed, the finishing condition's message)."""
    status = job.get("status") or {}
    for c in status.get("conditions") or []:
        if c.get("status") != "True":
            continue
        if c.get("type") == "Complete":
            return "Succeeded", c.get("message")
        if c.get("type") == "Failed":
            return "Failed", c.get("message") or c.get("reason")
    return ("Running" if status.get("active") else "Pending"), None


def _ensure_job(
    kube: ClusterClients, p: DownloadModelParams, settings: PodiumSettings, hf_token: str | None
) -> tuple[str, str, str | None]:
    name = p.name or download_name(p.model, p.revision)
    pvc = p.pvc or settings.training_models_pvc
    existing = objects.get(kube, "Job", p.namespace, name)
    if existing is not None:
        ann = existing["metadata"].get("annotations") or {}
        same = (ann.get(L.MODEL_ID), ann.get(L.REVISION)) == (p.model, p.revision)
        if not L.is_managed(existing) or not same:
            raise Conflict(
                f'job "{name}" already exists in "{p.namespace}" and is not this download; '
                "choose another name",
                code="name_taken",
            )
        return name, pvc, secret_name(name) if hf_token else None
    secret = secret_name(name) if hf_token else None
    if secret and hf_token:
        secret_obj = build_token_secret(name=secret, namespace=p.namespace, owner=name, token=hf_token)
        objects.apply(kube, secret_obj)
    job = objects.apply(
        kube,
        build_download_job(p, name=name, image=settings.training_download_image, pvc=pvc, secret=secret),
    )
    if secret:
        objects.merge_patch(
            kube, "Secret", p.namespace, secret, {"metadata": {"ownerReferences": [owner_reference(job)]}}
        )
    return name, pvc, secret


def _newest_pod(kube: ClusterClients, namespace: str, name: str) -> dict[str, Any] | None:
    pods = objects.list_objects(kube, "Pod", namespace, selector=f"{L.DOWNLOAD_JOB}={name}")
    pods.sort(key=lambda p: str(p["metadata"].get("creationTimestamp") or ""))
    return pods[-1] if pods else None


def download_model(
    kube: ClusterClients,
    p: DownloadModelParams,
    *,
    settings: PodiumSettings,
    hf_token: str | None,
    progress: Callable[..., None],
    check_cancelled: Callable[[], None],
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    name, pvc, secret = _ensure_job(kube, p, settings, hf_token)
    result = {
        "name": name, "namespace": p.namespace, "model": p.model, "revision": p.revision, "pvc": pvc,
        "local_dir": local_dir(p.model), "secret": secret,
    }  # fmt: skip
    deadline = time.monotonic() + settings.training_download_timeout_seconds
    last: DownloadProgress | None = None
    last_line = ""
    while True:
        job = objects.get(kube, "Job", p.namespace, name)
        if job is None:
            raise PodiumError(f'download job "{name}" was deleted before it finished', code="download_gone")
        state, message = job_state(job)
        pod = _newest_pod(kube, p.namespace, name)
        if pod is not None:
            tail = objects.pod_log_tail(kube, p.namespace, pod["metadata"]["name"], DOWNLOAD_CONTAINER,
                                        LOG_TAIL_LINES)  # fmt: skip
            last_line = next((ln for ln in reversed(tail.splitlines()) if ln.strip()), last_line)
            seen = parse_progress(tail)
            if state == "Succeeded":
                total = seen.files_total if seen else None
                seen = DownloadProgress(100, total, total)
            if seen is not None and seen != last:
                last = seen
                progress(percent=seen.percent, files_done=seen.files_done, files_total=seen.files_total,
                         job=name, pod=pod["metadata"]["name"])  # fmt: skip
        if state == "Succeeded":
            if last is None or last.percent != 100:
                progress(percent=100, job=name)
            return result
        if state == "Failed":
            raise PodiumError(
                f"download of {p.model}@{p.revision} failed: {message or 'the job failed'}"
                + (f"; last log line: {last_line[:300]}" if last_line else ""),
                code="download_failed",
                status=422,
                details={"job": name},
            )
        try:
            check_cancelled()
        except Cancelled:
            objects.delete(kube, "Job", p.namespace, name)
            raise
        if time.monotonic() > deadline:
            raise PodiumError(
                f'download job "{name}" did not finish within '
                f"{settings.training_download_timeout_seconds:.0f} s; it is still running",
                code="download_timeout",
                status=504,
                details={"job": name},
            )
        sleep(settings.training_download_poll_seconds)
