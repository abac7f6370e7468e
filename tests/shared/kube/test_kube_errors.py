"""Error classification and the client-side rate limiter (pure units: no server involved)."""

from __future__ import annotations

import json
import time

import pytest
import urllib3
from kubernetes.client.exceptions import ApiException
from podium_shared.errors import Forbidden, Invalid, NotFound, TransientError
from podium_shared.kube.clients import TokenBucket
from podium_shared.kube.errors import classify, kube_call


def _api_error(
    status: int, body: dict[str, object] | None = None, headers: dict[str, str] | None = None
) -> ApiException:
    exc = ApiException(status=status, reason="Reason", body=json.dumps(body) if body else None)
    exc.headers = headers
    return exc


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_transient(status: int) -> None:
    err = classify(_api_error(status, {"message": "etcdserver: leader changed"}), verb="patch")
    assert isinstance(err, TransientError)
    assert "etcdserver: leader changed" in err.message


def test_throttling_honours_retry_after() -> None:
    err = classify(_api_error(429, headers={"Retry-After": "7"}))
    assert isinstance(err, TransientError)
    assert err.retry_after == 7.0
    assert err.code == "throttled"


def test_conflict_on_update_is_transient_but_already_exists_on_create_is_not() -> None:
    conflict = classify(
        _api_error(409, {"reason": "Conflict"}), verb="patch", kind="pod", name="p", namespace="n"
    )
    assert isinstance(conflict, TransientError)
    exists = classify(_api_error(409, {"reason": "AlreadyExists"}), verb="create", kind="pod", name="p")
    assert not isinstance(exists, TransientError)
    assert exists.message == 'pod "p" already exists'


def test_not_found_names_the_object() -> None:
    err = classify(_api_error(404), verb="get", kind="Deployment", name="x", namespace="y")
    assert isinstance(err, NotFound)
    assert err.message == 'deployment "x" in namespace "y" not found'


def test_forbidden_quotes_the_server() -> None:
    body = {"message": 'pods "p" is forbidden: User "podium" cannot patch resource "pods"'}
    err = classify(_api_error(403, body), verb="patch", kind="pod", name="p", namespace="n")
    assert isinstance(err, Forbidden)
    assert err.message == 'forbidden: pods "p" is forbidden: User "podium" cannot patch resource "pods"'


def test_invalid_lists_the_causes() -> None:
    body = {
        "message": 'Deployment.apps "d" is invalid',
        "details": {"causes": [{"field": "spec.replicas", "message": "must be greater than or equal to 0"}]},
    }
    err = classify(_api_error(422, body), verb="apply")
    assert isinstance(err, Invalid)
    assert err.message == "invalid: spec.replicas: must be greater than or equal to 0"


def test_unauthorized_points_at_the_kubeconfig() -> None:
    err = classify(_api_error(401))
    assert not isinstance(err, TransientError)
    assert "credentials" in err.message


def test_connection_failures_are_transient() -> None:
    err = classify(urllib3.exceptions.MaxRetryError(None, "/api", reason=ConnectionRefusedError()))  # type: ignore[arg-type]
    assert isinstance(err, TransientError)
    assert err.code == "unreachable"
    assert isinstance(
        classify(urllib3.exceptions.ReadTimeoutError(None, "/api", "timed out")), TransientError
    )  # type: ignore[arg-type]


def test_kube_call_reraises_classified() -> None:
    with pytest.raises(NotFound) as exc, kube_call("get", kind="pod", name="a", namespace="b"):
        raise _api_error(404)
    assert isinstance(exc.value.__cause__, ApiException)


def test_unknown_errors_are_permanent_and_say_what_they_were() -> None:
    err = classify(ZeroDivisionError("boom"))
    assert not isinstance(err, TransientError)
    assert err.code == "internal_error"
    assert "ZeroDivisionError" in err.message


def test_token_bucket_allows_a_burst_then_paces() -> None:
    bucket = TokenBucket(qps=50.0, burst=5)
    start = time.monotonic()
    waited = [bucket.acquire() for _ in range(5)]
    assert waited == [0.0] * 5  # the burst is free
    for _ in range(10):
        bucket.acquire()
    # Ten more tokens at 50/s take at least 0.2 s.
    assert time.monotonic() - start >= 0.19
