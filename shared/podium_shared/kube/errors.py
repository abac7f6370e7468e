"""Turning what the Kubernetes client raises into Podium's one error type, split by what to do next.

Transient (retry with backoff): the server was unreachable or timed out, answered 5xx, 429 (its
Retry-After is honoured) or 409 Conflict on an update/patch (someone changed the object; the next attempt
re-reads it). Permanent (fail at once): 400/401/403/404/422 and the rest, each with a sentence a person
understands instead of the server's JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy.exc
import urllib3.exceptions
from kubernetes.client.exceptions import ApiException

from podium_shared.errors import Forbidden, Invalid, NotFound, PodiumError, TransientError

# Verbs whose 409 means "the object changed under us" (optimistic concurrency) rather than "already exists".
_UPDATE_VERBS = frozenset({"update", "patch", "replace", "scale", "label", "annotate", "apply"})


def classify(
    exc: BaseException,
    *,
    verb: str = "request",
    kind: str | None = None,
    name: str | None = None,
    namespace: str | None = None,
) -> PodiumError:
    """The PodiumError to record for `exc`; a `TransientError` means "retry"."""
    if isinstance(exc, PodiumError):
        return exc
    if isinstance(exc, ApiException):
        return _from_api_exception(exc, verb=verb, kind=kind, name=name, namespace=namespace)
    if isinstance(exc, urllib3.exceptions.HTTPError | ConnectionError | TimeoutError):
        return TransientError(
            f"could not reach the Kubernetes API server: {type(exc).__name__}", code="unreachable"
        )
    if isinstance(exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.TimeoutError):
        # Podium's own database blinked (restart, failover, pool exhausted): the work itself is fine.
        return TransientError(f"database unavailable: {type(exc).__name__}", code="database_unavailable")
    return PodiumError(
        f"unexpected error: {type(exc).__name__}: {exc}",
        code="internal_error",
        status=500,
    )


@contextmanager
def kube_call(
    verb: str, *, kind: str | None = None, name: str | None = None, namespace: str | None = None
) -> Iterator[None]:
    """Wrap a Kubernetes call so that whatever it raises leaves as a classified PodiumError."""
    try:
        yield
    except PodiumError:
        raise
    except Exception as exc:
        raise classify(exc, verb=verb, kind=kind, name=name, namespace=namespace) from exc


def status_of(exc: BaseException) -> int | None:
    return exc.status if isinstance(exc, ApiException) else None


def _from_api_exception(  # noqa: PLR0911 - one return per HTTP status class reads best
    exc: ApiException, *, verb: str, kind: str | None, name: str | None, namespace: str | None
) -> PodiumError:
    status = int(exc.status or 0)
    body = _status_body(exc)
    server_message = str(body.get("message") or exc.reason or "").strip()
    what = _describe(kind, name, namespace)
    details: dict[str, Any] = {"http_status": status}
    if server_message:
        details["server_message"] = server_message

    if status == 0:  # the client could not even send it (TLS failure and the like)
        return TransientError(f"could not reach the Kubernetes API server: {exc.reason}", code="unreachable")
    if status == 429:
        return TransientError(
            "the Kubernetes API server is throttling requests (429)",
            code="throttled",
            retry_after=_retry_after(exc),
            details=details,
        )
    if status >= 500 or status == 410:
        return TransientError(
            f"the Kubernetes API server failed ({status}): {server_message or exc.reason}",
            code="server_error",
            retry_after=_retry_after(exc),
            details=details,
        )
    if status == 409:
        if verb in _UPDATE_VERBS or body.get("reason") == "Conflict":
            return TransientError(
                f"{what} was modified concurrently; retrying with the latest version",
                code="conflict",
                details=details,
            )
        return PodiumError(f"{what} already exists", code="already_exists", status=409, details=details)
    if status == 404:
        return NotFound(f"{what} not found", details=details)
    if status == 403:
        return Forbidden(f"forbidden: {server_message or f'the cluster does not allow {verb} on {what}'}",
                         details=details)  # fmt: skip
    if status == 401:
        return PodiumError(
            "the cluster rejected Podium's credentials (401); check the cluster's kubeconfig",
            code="unauthorized_cluster",
            status=502,
            details=details,
        )
    if status in (400, 422):
        causes = _causes(body)
        message = "; ".join(causes) if causes else server_message or "the request was rejected"
        return Invalid(f"invalid: {message}", details=details | {"causes": causes})
    return PodiumError(
        f"the Kubernetes API server refused to {verb} {what} ({status}): {server_message}",
        code="kubernetes_error",
        status=502,
        details=details,
    )


def _describe(kind: str | None, name: str | None, namespace: str | None) -> str:
    if not kind and not name:
        return "the object"
    text = f'{(kind or "object").lower()} "{name}"' if name else (kind or "object").lower()
    if namespace:
        text += f' in namespace "{namespace}"'
    return text


def _status_body(exc: ApiException) -> dict[str, Any]:
    if not exc.body:
        return {}
    try:
        body = json.loads(exc.body)
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def _causes(body: dict[str, Any]) -> list[str]:
    causes = (body.get("details") or {}).get("causes") or []
    out = []
    for cause in causes:
        if not isinstance(cause, dict):
            continue
        field = cause.get("field")
        message = cause.get("message") or cause.get("reason") or ""
        out.append(f"{field}: {message}" if field else str(message))
    return out


def _retry_after(exc: ApiException) -> float | None:
    headers = exc.headers or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return None
