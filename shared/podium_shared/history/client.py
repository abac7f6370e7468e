"""Podium's one way to talk to an MLflow tracking server: `MlflowClient`, with every call bounded in time
and every failure turned into a PodiumError.

MLflow's HTTP client takes its timeout and retry count only from process-wide environment variables
(`MLFLOW_HTTP_REQUEST_TIMEOUT`, `MLFLOW_HTTP_REQUEST_MAX_RETRIES`, read at each request), and by default
retries a refused connection seven times with exponential backoff: minutes of hanging. So two bounds:
the variables are given sane defaults here (unless the operator set them), and each call runs on a shared
thread pool and is awaited with a deadline, so a request never waits longer than `timeout` whatever MLflow
does. A call that outlives its deadline finishes (or fails) in the background within MLflow's own
timeout, so the pool cannot fill with hung threads for long.

A tracking URI may be an `http(s)://` server or, with the `sagemaker-mlflow` plugin installed, a SageMaker
managed MLflow ARN: the URI is handed to MlflowClient unchanged and MLflow's tracking-store registry picks
the plugin's store for the `arn` scheme. One catch: the plugin's request-header provider takes the ARN it
routes by from the *process-wide* tracking URI (`mlflow.get_tracking_uri()`), not from the client. So the
first ARN a process uses becomes its process-wide tracking URI, and a second, different ARN is refused
with a sentence instead of being sent with the first one's routing header."""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from typing import TYPE_CHECKING, TypeVar

from podium_shared.errors import Invalid, NotFound, PodiumError, TransientError

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

# MLflow is imported where it is first used, not at module import: it costs seconds of CPU, and every
# worker and API process loads this module (command kinds, routers) whether or not it ever calls MLflow.

T = TypeVar("T")

# Enough for a console page's few calls from a handful of API threads; a hung server ties up at most
# this many threads, each for at most MLFLOW_HTTP_REQUEST_TIMEOUT.
_POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix="mlflow-call")
_clients: dict[str, MlflowClient] = {}
_clients_lock = threading.Lock()
_process_arn: str | None = None


class MlflowUnavailable(TransientError):
    """The tracking server is down, slow or answered 5xx: the API says 503, the pipeline retries."""

    status = 503
    code = "mlflow_unavailable"


class MlflowNotConfigured(PodiumError):
    status = 503
    code = "mlflow_not_configured"


def _bound_http_defaults(timeout: float) -> None:
    # Process-wide by MLflow's design (see the module docstring); an operator's own values win.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(max(1, math.ceil(timeout))))
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")


class Tracking:
    """One tracking server, as Podium uses it."""

    def __init__(self, uri: str, timeout: float) -> None:
        _bound_http_defaults(timeout)
        if uri.startswith("arn:"):
            _route_sagemaker(uri)
        self.uri = uri
        self.timeout = timeout
        with _clients_lock:
            client = _clients.get(uri)
            if client is None:
                from mlflow import MlflowClient  # noqa: PLC0415 - see the note on imports above

                client = _clients[uri] = MlflowClient(tracking_uri=uri)
        self.client = client

    def call(self, what: str, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        """`fn(*args, **kwargs)` within the deadline; MLflow's errors as PodiumErrors."""
        from mlflow.exceptions import MlflowException  # noqa: PLC0415 - imported by __init__ already

        future = _POOL.submit(fn, *args, **kwargs)
        try:
            return future.result(timeout=self.timeout)
        except FuturesTimeout:
            raise MlflowUnavailable(
                f"the MLflow tracking server did not answer {what} within {self.timeout:g}s",
                details={"tracking_uri": self.uri},
            ) from None
        except MlflowException as exc:
            raise translate(exc, what, self.uri) from None
        except OSError as exc:
            raise MlflowUnavailable(
                f"could not reach the MLflow tracking server ({what}): {type(exc).__name__}",
                details={"tracking_uri": self.uri},
            ) from None


def _route_sagemaker(arn: str) -> None:
    global _process_arn  # noqa: PLW0603 - mirrors MLflow's own process-wide tracking URI
    import mlflow  # noqa: PLC0415 - see the note on imports above

    with _clients_lock:
        if _process_arn in (None, arn):
            # Again each time: something else in the process may have set another URI since.
            if mlflow.get_tracking_uri() != arn:
                mlflow.set_tracking_uri(arn)
            _process_arn = arn
        else:
            raise MlflowNotConfigured(
                f"this Podium process already talks to SageMaker MLflow {_process_arn}; the sagemaker-mlflow "
                "plugin routes every request by one process-wide ARN, so a second one needs its own process",
                details={"tracking_uri": arn},
            )


def translate(exc: MlflowException, what: str, uri: str) -> PodiumError:
    """MLflow's error codes mapped onto Podium's: 404 and 400s are permanent, the rest retryable."""
    status: int = exc.get_http_status_code()  # type: ignore[no-untyped-call]  # untyped in MLflow
    details = {"tracking_uri": uri, "mlflow_error_code": exc.error_code}
    if status == 404:
        return NotFound(f"MLflow: {exc.message}", code="mlflow_not_found", details=details)
    if status in (400, 422):
        return Invalid(f"MLflow refused {what}: {exc.message}", code="mlflow_invalid", details=details)
    if status in (401, 403):
        return PodiumError(
            f"MLflow refused {what} (not authorised): {exc.message}",
            code="mlflow_forbidden",
            status=502,
            details=details,
        )
    # 5xx, 429, and connection failures (MLflow reports those as INTERNAL_ERROR).
    return MlflowUnavailable(
        f"the MLflow tracking server failed {what}: {_first_line(exc.message)}", details=details
    )


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else "no message"


def tracking_for(uri: str | None, timeout: float) -> Tracking:
    if not uri:
        raise MlflowNotConfigured(
            "no MLflow tracking server is configured: set MLFLOW_TRACKING_URI, or the cluster's "
            "mlflow_tracking_uri"
        )
    return Tracking(uri, timeout)
