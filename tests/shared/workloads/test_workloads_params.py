"""Validation of the core kinds' params: what a bad request is told before anything is queued."""

from __future__ import annotations

import pytest
from podium_shared.operations.kinds import get_kind
from pydantic import ValidationError


def _valid(kind: str, params: dict[str, object]) -> dict[str, object]:
    return get_kind(kind).params.model_validate(params).model_dump(mode="json")


def _error(kind: str, params: dict[str, object]) -> str:
    with pytest.raises(ValidationError) as exc:
        get_kind(kind).params.model_validate(params)
    return str(exc.value)


def test_label_normalises_kind_and_accepts_null_to_remove() -> None:
    out = _valid(
        "label", {"namespace": "ns", "kind": "Deployments", "name": "web", "labels": {"a.io/b": None}}
    )
    assert out == {"namespace": "ns", "kind": "deployment", "name": "web", "labels": {"a.io/b": None}}


def test_cluster_scoped_kinds_drop_the_namespace() -> None:
    out = _valid("annotate", {"namespace": "ns", "kind": "node", "name": "ip-10-0-0-1.ec2.internal",
                              "annotations": {"note": "x"}})  # fmt: skip
    assert out["namespace"] is None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"kind": "pod", "name": "p", "labels": {"a": "b"}}, "namespace is required"),
        ({"namespace": "ns", "kind": "widget", "name": "p", "labels": {"a": "b"}}, "unknown kind 'widget'"),
        (
            {"namespace": "ns", "kind": "pod", "name": "P_1", "labels": {"a": "b"}},
            "not a valid Kubernetes name",
        ),
        ({"namespace": "ns", "kind": "pod", "name": "p", "labels": {"a": "b c"}}, "must be at most 63"),
        ({"namespace": "ns", "kind": "pod", "name": "p", "labels": {"-a": "b"}}, "the name part"),
        ({"namespace": "ns", "kind": "pod", "name": "p", "labels": {}}, "at least 1 item"),
        (
            {"namespace": "Bad", "kind": "pod", "name": "p", "labels": {"a": "b"}},
            "not a valid Kubernetes namespace",
        ),
    ],
)
def test_label_rejections_say_why(params: dict[str, object], message: str) -> None:
    assert message in _error("label", params)


def test_scale_bounds() -> None:
    assert "greater than or equal to 0" in _error("scale", {"namespace": "n", "name": "d", "replicas": -1})


def test_apply_needs_kind_and_name() -> None:
    assert "apiVersion and kind are required" in _error("apply", {"manifests": [{"metadata": {"name": "x"}}]})
    assert "metadata.name is required" in _error(
        "apply", {"manifests": [{"apiVersion": "v1", "kind": "Pod"}]}
    )


def test_bulk_validates_every_item_and_refuses_nesting() -> None:
    good = {"kind": "delete", "params": {"namespace": "n", "kind": "pod", "name": "a"}}
    out = _valid("bulk", {"items": [good], "concurrency": 4})
    assert out["items"] == [{"kind": "delete", "params": {"namespace": "n", "kind": "pod", "name": "a"}}]
    nested = {"kind": "apply", "params": {"manifests": []}}
    unscoped = {"kind": "delete", "params": {"kind": "pod", "name": "a"}}
    message = _error("bulk", {"items": [good, nested, unscoped]})
    assert "items[1]: kind 'apply' cannot be bulked" in message
    assert "items[2] (delete)" in message
    assert "concurrency" in _error("bulk", {"items": [good], "concurrency": 0})
