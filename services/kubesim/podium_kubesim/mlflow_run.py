"""A simulated training pod reporting to MLflow the way LLaMA-Factory does (through transformers'
MLflowCallback): when the container's environment carries MLFLOW_TRACKING_URI, the main process (rank 0)
creates a run in MLFLOW_EXPERIMENT_NAME named MLFLOW_RUN_NAME (else the job's name) with the tags of the
JSON object in MLFLOW_TAGS, logs the training arguments as params, every Trainer log record
(`{'loss': …, 'grad_norm': …, 'learning_rate': …, 'epoch': …}`) as metrics at its step, the final
`train_runtime` / `train_samples_per_second` / `train_steps_per_second` record, and ends the run FINISHED
or FAILED. A pod without MLFLOW_TRACKING_URI logs nothing to MLflow.

It speaks MLflow's REST API (`/api/2.0/mlflow/...`) with httpx, so kubesim needs no MLflow package. A
tracking server that is down or slow never stalls the simulated training: each request is bounded and a
failure is logged and ends this run's reporting, as a lost connection would in a real pod."""

from __future__ import annotations

import ast
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

log = logging.getLogger("podium_kubesim.mlflow")
API = "/api/2.0/mlflow"
TIMEOUT = httpx.Timeout(5.0, connect=2.0)
# Training arguments logged as params, read from the simulated run's fields when it has them.
_PARAM_FIELDS = {
    "model": "model_name_or_path",
    "learning_rate": "learning_rate",
    "epochs": "num_train_epochs",
    "batch_size": "per_device_train_batch_size",
    "steps": "max_steps",
    "world_size": "world_size",
    "logging_steps": "logging_steps",
}


def training_params(run: Any) -> dict[str, str]:
    """The params a Trainer would log for `run` (the simulated training's settings)."""
    return {name: str(getattr(run, attr)) for attr, name in _PARAM_FIELDS.items() if hasattr(run, attr)}


def records(lines: Iterable[str]) -> list[dict[str, float]]:
    """The Trainer log records among `lines` (Python dict reprs), numeric values only."""
    out = []
    for line in lines:
        text = line.strip()
        if not (text.startswith("{") and text.endswith("}")):
            continue
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            continue
        if isinstance(value, dict):
            nums = {str(k): float(v) for k, v in value.items() if isinstance(v, int | float)}
            if nums:
                out.append(nums)
    return out


@dataclass
class MlflowRun:
    uri: str
    experiment: str
    run_name: str
    tags: dict[str, str]
    run_id: str | None = None
    broken: bool = False
    _http: httpx.AsyncClient | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: dict[str, str], job: str) -> MlflowRun | None:
        uri = env.get("MLFLOW_TRACKING_URI", "").strip()
        if not uri.startswith(("http://", "https://")):
            return None  # unset, or a scheme a simulated pod cannot reach (e.g. a SageMaker ARN)
        try:
            extra = json.loads(env.get("MLFLOW_TAGS") or "{}")
        except json.JSONDecodeError:
            extra = {}
        tags = {str(k): str(v) for k, v in extra.items()} if isinstance(extra, dict) else {}
        return cls(
            uri=uri.rstrip("/"),
            experiment=env.get("MLFLOW_EXPERIMENT_NAME") or "Default",
            run_name=env.get("MLFLOW_RUN_NAME") or job,
            tags=tags,
        )

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        assert self._http is not None
        r = await self._http.post(f"{self.uri}{API}/{path}", json=body)
        if r.status_code >= 400:
            raise _Refused(r.status_code, r.text)
        data: dict[str, Any] = r.json() if r.content else {}
        return data

    async def _experiment_id(self) -> str:
        assert self._http is not None
        r = await self._http.get(
            f"{self.uri}{API}/experiments/get-by-name", params={"experiment_name": self.experiment}
        )
        if r.status_code == 200:
            return str(r.json()["experiment"]["experiment_id"])
        try:
            return str((await self._post("experiments/create", {"name": self.experiment}))["experiment_id"])
        except _Refused as exc:
            if "RESOURCE_ALREADY_EXISTS" not in exc.text:  # another pod created it meanwhile
                raise
            return await self._experiment_id()

    async def start(self, params: dict[str, str]) -> None:
        self._http = httpx.AsyncClient(timeout=TIMEOUT)
        tags = {"mlflow.user": "kubesim", "mlflow.source.name": "llamafactory-cli", **self.tags}
        try:
            experiment_id = await self._experiment_id()
            created = await self._post(
                "runs/create",
                {
                    "experiment_id": experiment_id,
                    "run_name": self.run_name,
                    "start_time": _now(),
                    "tags": [{"key": k, "value": v} for k, v in tags.items()],
                },
            )
            self.run_id = str(created["run"]["info"]["run_id"])
            if params:
                await self._post(
                    "runs/log-batch",
                    {"run_id": self.run_id, "params": [{"key": k, "value": v} for k, v in params.items()]},
                )
        except (httpx.HTTPError, _Refused, KeyError, ValueError) as exc:
            self._give_up("start the run", exc)

    async def lines(self, step: int, lines: Iterable[str]) -> None:
        """Log the Trainer records among one step's log lines as metrics at `step`."""
        found = records(lines)
        if self.broken or self.run_id is None or not found:
            return
        ts = _now()
        metrics = [
            {"key": k, "value": v, "timestamp": ts, "step": step} for rec in found for k, v in rec.items()
        ]
        try:
            await self._post("runs/log-batch", {"run_id": self.run_id, "metrics": metrics})
        except (httpx.HTTPError, _Refused) as exc:
            self._give_up("log metrics", exc)

    async def end(self, exit_code: int) -> None:
        try:
            if not self.broken and self.run_id is not None:
                await self._post(
                    "runs/update",
                    {
                        "run_id": self.run_id,
                        "status": "FINISHED" if exit_code == 0 else "FAILED",
                        "end_time": _now(),
                    },
                )
        except (httpx.HTTPError, _Refused) as exc:
            self._give_up("end the run", exc)
        finally:
            if self._http is not None:
                await self._http.aclose()
                self._http = None

    def _give_up(self, what: str, exc: Exception) -> None:
        self.broken = True
        log.warning("MLflow at %s: could not %s (%s); this run stops reporting", self.uri, what, exc)


class _Refused(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"HTTP {status}: {text[:200]}")
        self.status = status
        self.text = text


def _now() -> int:
    return int(time.time() * 1000)
