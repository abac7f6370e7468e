"""GET /api/v1/training/runs against a real MLflow server: paging across experiments, tag columns,
filters, and filter text that tries to inject a clause."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from mlflow import MlflowClient

from history.helpers import experiment, get_json, make_run

URL = "/api/v1/training/runs"

# The first test of a worker that needs the MLflow server pays its start-up (minutes on a loaded machine).
pytestmark = pytest.mark.timeout(900)


def test_pages_cover_three_experiments_without_gaps_or_repeats(
    history: TestClient, mlflow: MlflowClient, viewer
) -> None:
    exps = [experiment(mlflow, "page") for _ in range(3)]
    made = {make_run(mlflow, eid, name=f"r{i}") for eid, _ in exps for i in range(4)}
    names = [n for _, n in exps]

    seen: list[str] = []
    pages = 0
    cursor = None
    while True:
        params = {"experiment": names, "limit": 5} | ({"cursor": cursor} if cursor else {})
        body = get_json(history, URL, viewer.headers, **params)
        pages += 1
        seen += [r["id"] for r in body["runs"]]
        assert {r["experiment"] for r in body["runs"]} <= set(names)
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 12
    assert set(seen) == made


def test_newest_first_by_default_and_order_by_is_honoured(
    history: TestClient, mlflow: MlflowClient, viewer
) -> None:
    eid, name = experiment(mlflow, "order")
    ids = [
        make_run(mlflow, eid, name=f"run-{i}", final={"train_samples_per_second": float(i)}) for i in range(3)
    ]
    body = get_json(history, URL, viewer.headers, experiment=name)
    assert [r["id"] for r in body["runs"]] == ids[::-1]
    body = get_json(
        history, URL, viewer.headers, experiment=name, order_by="metrics.train_samples_per_second"
    )
    assert [r["id"] for r in body["runs"]] == ids
    r = history.get(URL, headers=viewer.headers, params={"experiment": name, "order_by": "bogus_field"})
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_order_by"


def test_tag_columns_in_business_order_and_mlflow_tags_hidden(
    history: TestClient, mlflow: MlflowClient, viewer
) -> None:
    eid, name = experiment(mlflow, "tags")
    make_run(mlflow, eid, tags={"zeta": "1", "deepspeed_conf": "ds_z0_config.json", "alpha": "a"})
    make_run(
        mlflow,
        eid,
        tags={"model": "Qwen-Qwen3-0.6B", "instance_type": "ml.g5.12xlarge", "batch_size": "4",
              "replica_count": "2", "mlflow.note.content": "hidden"},
    )  # fmt: skip
    body = get_json(history, URL, viewer.headers, experiment=name)
    assert body["tag_columns"] == [
        "model", "instance_type", "replica_count", "batch_size", "deepspeed_conf", "alpha", "zeta",
    ]  # fmt: skip
    for run in body["runs"]:
        assert run["tags"], run
        assert not [k for k in run["tags"] if k.startswith("mlflow.")]
    # MLflow itself wrote mlflow.* tags (user, source, run name): they exist, the table just hides them.
    detail = get_json(history, f"{URL}/{body['runs'][0]['id']}", viewer.headers)
    assert any(k.startswith("mlflow.") for k in detail["all_tags"])


def test_filters_by_status_tag_and_name(history: TestClient, mlflow: MlflowClient, viewer) -> None:
    eid, name = experiment(mlflow, "filter")
    done = make_run(mlflow, eid, name="llama-sft-1", tags={"model": "llama", "dataset": "identity"})
    running = make_run(mlflow, eid, name="qwen-sft-2", tags={"model": "qwen"}, status=None)
    failed = make_run(mlflow, eid, name="qwen-sft-3", tags={"model": "qwen"}, status="FAILED")

    def ids(**params: object) -> set[str]:
        return {r["id"] for r in get_json(history, URL, viewer.headers, experiment=name, **params)["runs"]}

    assert ids(status="RUNNING") == {running}
    assert ids(**{"tag.model": "qwen"}) == {running, failed}
    assert ids(**{"tag.model": "qwen", "status": "FAILED"}) == {failed}
    assert ids(text="LLAMA") == {done}
    assert ids(**{"tag.dataset": "identity", "tag.model": "llama"}) == {done}
    r = history.get(URL, headers=viewer.headers, params={"experiment": name, "status": "DONE"})
    assert r.status_code == 422


def test_hostile_filter_text_is_inert(history: TestClient, mlflow: MlflowClient, viewer) -> None:
    eid, name = experiment(mlflow, "hostile")
    running = make_run(mlflow, eid, name="victim", tags={"model": "qwen"}, status=None)
    quoted = make_run(mlflow, eid, name="o'brien's run", tags={"model": "O'Brien"})

    def get(**params: object):
        return history.get(URL, headers=viewer.headers, params={"experiment": name, **params})

    # A value that would close the literal and add a clause matches nothing instead of widening the query.
    for value in ("x' OR attributes.status = 'RUNNING", 'x" OR attributes.status = "RUNNING'):
        r = get(**{"tag.model": value})
        assert r.status_code == 200, r.text
        assert r.json()["runs"] == []
    r = get(text="' OR attributes.status = 'RUNNING' OR attributes.run_name LIKE '")
    assert r.status_code == 200
    assert r.json()["runs"] == []
    # A quote is an ordinary character: the one run that really has it is found.
    assert [x["id"] for x in get(**{"tag.model": "O'Brien"}).json()["runs"]] == [quoted]
    assert [x["id"] for x in get(text="o'brien").json()["runs"]] == [quoted]
    # What could end a literal early is refused with a sentence, not passed on.
    for params in (
        {"tag.model": "both ' and \" quotes"},
        {"tag.model": "trailing backslash \\"},
        {"tag.model": "line\nbreak"},
        {"tag.model` = 'x' OR tags.`model": "x"},
        {"order_by": "metrics.`loss` DESC, attributes.status"},
    ):
        r = get(**params)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["code"] in ("invalid_filter", "invalid_order_by")
    assert [x["id"] for x in get(status="RUNNING").json()["runs"]] == [running]


def test_cursor_of_another_query_is_refused(history: TestClient, mlflow: MlflowClient, viewer) -> None:
    eid, name = experiment(mlflow, "cursor")
    for i in range(3):
        make_run(mlflow, eid, name=f"c{i}")
    body = get_json(history, URL, viewer.headers, experiment=name, limit=1)
    assert body["next_cursor"]
    r = history.get(
        URL, headers=viewer.headers, params={"experiment": name, "limit": 1, "status": "FAILED",
                                             "cursor": body["next_cursor"]},
    )  # fmt: skip
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_cursor"
    r = history.get(URL, headers=viewer.headers, params={"cursor": "not-a-cursor"})
    assert r.status_code == 422


def test_unknown_experiment_is_404_and_no_token_is_401(history: TestClient, viewer) -> None:
    r = history.get(URL, headers=viewer.headers, params={"experiment": "no-such-experiment-xyz"})
    assert r.status_code == 404
    assert r.json()["code"] == "unknown_experiment"
    assert history.get(URL).status_code == 401
