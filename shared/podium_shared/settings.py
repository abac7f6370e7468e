"""Settings shared by every Podium process. One prefix (PODIUM_), typed URLs; each service extends
`PodiumSettings`. The well-known variables DATABASE_URL, REDIS_URL, KUBECONFIG and MLFLOW_TRACKING_URI are
accepted as they are, because that is how operators already point tools at real infrastructure."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "podium-dev-secret-change-me"  # noqa: S105 - the development default production refuses


class PodiumSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PODIUM_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = Field(
        "postgresql+psycopg://podium@127.0.0.1:5432/podium",
        validation_alias=AliasChoices("PODIUM_DATABASE_URL", "DATABASE_URL"),
    )
    redis_url: str = Field(
        "redis://127.0.0.1:6379/0",
        validation_alias=AliasChoices("PODIUM_REDIS_URL", "REDIS_URL"),
    )
    kubeconfig: Path | None = Field(None, validation_alias=AliasChoices("PODIUM_KUBECONFIG", "KUBECONFIG"))
    mlflow_tracking_uri: str | None = Field(
        None, validation_alias=AliasChoices("PODIUM_MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI")
    )
    # Every call to an MLflow tracking server answers (or fails with 503 mlflow_unavailable) within this.
    mlflow_request_timeout_seconds: float = 10.0
    # How often the watcher asks each tracking server what changed (MLflow has no push API).
    mlflow_watch_interval_seconds: float = 2.0
    # Keys the encryption of operations' secret params (crypto.seal / open_sealed, through a derived
    # key); must be set outside development so two deployments never share the default.
    secret_key: SecretStr = SecretStr(DEV_SECRET)
    bootstrap_admin_token: SecretStr | None = None
    bootstrap_admin_username: str = "admin"
    # The first admin's console password; `podium up` generates one into its data dir when unset.
    bootstrap_admin_password: SecretStr | None = None

    # Client-side protection of the Kubernetes API server (per cluster, per worker process).
    kube_qps: float = 50.0
    kube_burst: int = 100
    # Per-request timeout towards a Kubernetes API server: (connect, read) seconds.
    kube_request_timeout: tuple[float, float] = (5.0, 30.0)

    # AWS (boto3). Endpoints, credentials and the default region come from the standard AWS variables and
    # files (AWS_ENDPOINT_URL[_<SERVICE>], AWS_PROFILE, …), never from Podium's settings: botocore's own
    # chain, so an operator's usual configuration just works. docs/infra.md.
    # botocore's "standard" retry mode: attempts per call (first try included) before the pipeline's own
    # retry with backoff takes over, and (connect, read) timeouts per request.
    aws_max_attempts: int = 3
    aws_connect_timeout_seconds: float = 5.0
    aws_read_timeout_seconds: float = 30.0
    # Node-group / instance-group transitions: how often a command polls and how long it waits at most.
    aws_poll_interval_seconds: float = 5.0
    aws_wait_timeout_seconds: float = 1800.0
    # Lifetime of a presigned S3 download URL.
    s3_presign_seconds: int = 300

    # Operation pipeline (worker side). A running operation holds a lease the worker renews; when the
    # worker dies, the sweep re-queues it once the lease has run out.
    # Released bulk children per worker message: run side by side, claimed and settled in one transaction
    # each (docs/pipeline.md, "Bulk"). A bulk's concurrency still bounds how many are in flight.
    bulk_batch_size: int = Field(default=32, ge=1, le=256)
    operation_lease_seconds: float = 30.0
    operation_max_attempts: int = 6
    operation_backoff_base_seconds: float = 1.0
    operation_backoff_max_seconds: float = 60.0
    # The sweep: how often it runs, how long a committed operation may stay unsent (API died between
    # commit and send), and how long a sent one may stay queued before the message is presumed lost.
    sweep_interval_seconds: float = 5.0
    sweep_undispatched_grace_seconds: float = 5.0
    sweep_redispatch_after_seconds: float = 120.0
    worker_heartbeat_seconds: float = 10.0

    # Training jobs and model downloads (podium_shared.training). The shared volume is the S3-backed PVC
    # that training pods and download Jobs mount at /models; each namespace that uses it needs the claim.
    training_models_pvc: str = "s3-claim"
    training_default_image: str = "hiyouga/llamafactory:0.9.3"
    # The download Job's image must provide `uvx` (it runs huggingface_hub's CLI without a custom image).
    training_download_image: str = "ghcr.io/astral-sh/uv:python3.12-bookworm-slim"
    # A download_model operation follows its Job until it ends, at most this long.
    training_download_timeout_seconds: float = 6 * 3600.0
    training_download_poll_seconds: float = 1.0
    # Where training pods send MLflow runs (in-cluster address); defaults to MLFLOW_TRACKING_URI.
    training_mlflow_tracking_uri: str | None = None

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> PodiumSettings:
        if self.environment == "production" and self.secret_key.get_secret_value() == DEV_SECRET:
            raise ValueError("PODIUM_SECRET_KEY must be set in production")
        return self


@lru_cache
def get_settings() -> PodiumSettings:
    """The settings the environment describes. Only a process's entry point calls this; everything else
    is handed settings or asks `current_settings()`."""
    return PodiumSettings()


class _Process:
    """The settings this process runs with (a holder instead of a module global)."""

    settings: PodiumSettings | None = None


def use_settings(settings: PodiumSettings) -> None:
    """Make `settings` this process's settings: the API's app factory, `run_worker` and the watcher call
    it once at start (through `operations.celery_app.configure` for the first two)."""
    _Process.settings = settings


def current_settings() -> PodiumSettings:
    """The one road to the process's settings for code that is not handed them (after-commit sends,
    events, crypto's default key). Without `use_settings`, the environment's settings."""
    return _Process.settings if _Process.settings is not None else get_settings()
