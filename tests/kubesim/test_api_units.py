"""Pure pieces of the API server: selector parsing, strategic merge directives, field paths, Tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from podium_kubesim.errors import ApiError
from podium_kubesim.fieldpaths import from_fields_v1, leaves, path_string, to_fields_v1
from podium_kubesim.patching import strategic_merge
from podium_kubesim.resources import RESOURCES
from podium_kubesim.selectors import labels_match, parse_field_selector, parse_label_selector
from podium_kubesim.tables import age


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("a=1", {"a": "1"}, True),
        ("a=1", {}, False),
        ("a!=1", {}, True),
        ("a in (1, 2),b", {"a": "2", "b": "x"}, True),
        ("a notin (1,2)", {"a": "3"}, True),
        ("!a", {"a": "1"}, False),
        ("app.kubernetes.io/name=web,tier", {"app.kubernetes.io/name": "web", "tier": ""}, True),
        ("", {"anything": "x"}, True),
    ],
)
def test_label_selectors(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert labels_match(parse_label_selector(selector), labels) is expected


@pytest.mark.parametrize("bad", ["a in 1", "=x", "a in (1", "a b"])
def test_bad_label_selectors_are_400(bad: str) -> None:
    with pytest.raises(ApiError) as exc:
        parse_label_selector(bad)
    assert exc.value.code == 400


def test_field_selector_support_is_per_kind() -> None:
    assert parse_field_selector(RESOURCES["pods"], "spec.nodeName=n1,status.phase!=Failed")
    with pytest.raises(ApiError) as exc:
        parse_field_selector(RESOURCES["configmaps"], "status.phase=Running")
    assert exc.value.message == "field label not supported: status.phase"


def test_strategic_merge_directives() -> None:
    current = {
        "metadata": {"finalizers": ["a", "b"]},
        "spec": {
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
            "containers": [{"name": "x", "image": "1"}, {"name": "y", "image": "2"}],
        },
    }
    patch = {
        "metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "finalizers": ["c"]},
        "spec": {
            "strategy": {"$retainKeys": ["type"], "type": "Recreate"},
            "$setElementOrder/containers": [{"name": "y"}, {"name": "x"}],
            "containers": [{"name": "x", "image": "3"}],
        },
    }
    merged = strategic_merge(current, patch)
    assert merged["metadata"]["finalizers"] == ["b", "c"]
    assert merged["spec"]["strategy"] == {"type": "Recreate"}
    assert merged["spec"]["containers"] == [{"name": "y", "image": "2"}, {"name": "x", "image": "3"}]
    replaced = strategic_merge(
        current, {"spec": {"containers": [{"$patch": "replace"}, {"name": "z", "image": "9"}]}}
    )
    assert replaced["spec"]["containers"] == [{"name": "z", "image": "9"}]
    # The original is untouched: patches never mutate stored state.
    assert current["spec"]["containers"][0]["image"] == "1"


def test_field_paths_round_trip_and_print() -> None:
    obj = {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}]}]}}},
    }
    paths = set(leaves(obj))
    tree = to_fields_v1(paths)
    assert tree["f:metadata"]["f:labels"] == {".": {}, "f:app": {}}
    container = tree["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"c"}']
    assert container["f:ports"]['k:{"containerPort":80,"protocol":"TCP"}'] == {".": {}, "f:containerPort": {}}
    assert from_fields_v1(tree) == paths
    image = ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"c"}', "f:image")
    assert path_string(image) == '.spec.template.spec.containers[name="c"].image'


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5, "5s"), (119, "119s"), (150, "2m30s"), (600, "10m"), (3 * 3600 + 60, "3h1m"), (90000, "25h")],
)
def test_age_like_kubectl(seconds: int, text: str) -> None:
    now = datetime(2026, 1, 2, 12, 0, 0, tzinfo=UTC)
    ts = (now - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert age(ts, now) == text
