from __future__ import annotations

import pytest
from podium_shared.errors import Invalid
from podium_shared.kube.selectors import parse_field_selector, parse_label_selector


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("", {"a": "1"}, True),
        ("app=web", {"app": "web"}, True),
        ("app==web", {"app": "db"}, False),
        ("app!=web", {}, True),  # != matches objects without the label, as the API server does
        ("app!=web", {"app": "web"}, False),
        ("env in (prod, test)", {"env": "test"}, True),
        ("env in (prod,test)", {"env": "dev"}, False),
        ("env notin (prod)", {}, True),
        ("env notin (prod)", {"env": "prod"}, False),
        ("gpu", {"gpu": ""}, True),
        ("!gpu", {"gpu": "x"}, False),
        ("model=qwen,business in (a,b),!canary", {"model": "qwen", "business": "b"}, True),
        ("model=qwen,business in (a,b),!canary", {"model": "qwen", "business": "b", "canary": "1"}, False),
        ("example.com/team=ml", {"example.com/team": "ml"}, True),
    ],
)
def test_label_selector(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_label_selector(selector).matches(labels) is expected


@pytest.mark.parametrize("bad", ["a=b=c", "in (x)", "a in x", "=x", "a,,=b"])
def test_label_selector_rejects_garbage(bad: str) -> None:
    with pytest.raises(Invalid):
        parse_label_selector(bad)


def test_field_selector_basics() -> None:
    pod = {
        "metadata": {"name": "p1", "namespace": "ns"},
        "status": {"phase": "Running"},
        "spec": {"nodeName": "n1"},
    }
    assert parse_field_selector("metadata.name=p1").matches(pod)
    assert parse_field_selector("metadata.namespace==ns,status.phase!=Pending").matches(pod)
    assert not parse_field_selector("spec.nodeName=n2").matches(pod)
    assert parse_field_selector("spec.nodeName=").matches({"spec": {}})  # unbound pods, as kubectl asks
    with pytest.raises(Invalid):
        parse_field_selector("metadata.name~p1")
