"""The collector end to end: kubesim runs the jobs, the watcher streams the cluster into Redis, the
collectors follow the pods into Postgres, the API serves what was kept and the WebSocket what is new."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import psycopg
from api.fixtures import ApiUser
from kubernetes import client
from podium_kubesim.runner import RunningKubeSim
from podium_shared.telemetry.collector import CollectorTuning
from podium_shared.telemetry.follow import FollowTuning
from support.waiting import wait_until
from watcher.realtime_fixtures import ServedApi, Watchers, WsClient

from telemetry.collector_fixtures import (
    Collectors,
    expected_points,
    printed,
    pytorchjob,
    stored,
)


def _custom(kube: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(kube)


def _succeeded(kube: client.ApiClient, namespace: str, name: str) -> bool:
    job = _custom(kube).get_namespaced_custom_object("kubeflow.org", "v1", namespace, "pytorchjobs", name)
    return any(
        c.get("type") == "Succeeded" and c.get("status") == "True"
        for c in (job.get("status") or {}).get("conditions") or []
    )


def test_leader_killed_mid_job_loses_and_repeats_nothing_and_logs_outlive_the_job(  # noqa: PLR0917
    kube: client.ApiClient,
    namespace: str,
    watchers: Watchers,
    collectors: Collectors,
    served_api: ServedApi,
    ws_client: Callable[[str], WsClient],
    viewer: ApiUser,
    database_url: str,
) -> None:
    watchers.start("w1")
    first = collectors.start("c1")
    wait_until(lambda: collectors.leader() is first, 10, "the first collector to lead")
    second = collectors.start("c2")
    live = ws_client(viewer.token)
    live.subscribe("l", watchers.cluster, "logs", namespace=namespace, job="sft")
    wait_until(lambda: live.of_type("snapshot", "l"), 10, "the logs snapshot")

    _custom(kube).create_namespaced_custom_object(
        "kubeflow.org", "v1", namespace, "pytorchjobs", pytorchjob("sft", steps=200, step_seconds=0.8)
    )
    wait_until(
        lambda: len(stored(database_url, "sft-master-0", "pytorch", namespace)) >= 40, 30, "lines stored"
    )
    first.stop(release=False)  # a crash: the lock expires, whatever was read but not stored is abandoned
    wait_until(lambda: collectors.leader() is second, 15, "the standby to take over")
    assert not _succeeded(kube, namespace, "sft"), "the job ended before the takeover: make it longer"
    wait_until(lambda: _succeeded(kube, namespace, "sft"), 60, "the job to succeed")

    pods = ("sft-master-0", "sft-worker-0")
    kept: dict[str, list[tuple[object, str]]] = {}
    for pod in pods:
        expected = printed(kube, namespace, pod, "pytorch")
        n = len(expected)
        wait_until(
            lambda pod=pod, n=n: len(stored(database_url, pod, "pytorch", namespace)) >= n,  # type: ignore[misc]
            20, f"{pod}'s last lines",
        )  # fmt: skip
        rows = stored(database_url, pod, "pytorch", namespace)
        # Line for line: same text, same timestamp, sequence 1..n — no gap, no duplicate.
        assert [(r.ts, r.line) for r in rows] == expected
        assert [r.seq for r in rows] == list(range(1, len(expected) + 1))
        kept[pod] = [(r.ts, r.line) for r in rows]
    master_printed = printed(kube, namespace, "sft-master-0", "pytorch")
    uid = stored(database_url, "sft-master-0", "pytorch", namespace)[0].workload_uid

    # The job page's latest metrics: each metric's last printed value, from the kept points.
    last: dict[str, tuple[int, float, int]] = {}
    for name, value, ts, step in expected_points(master_printed):
        if name not in last or (ts, step) >= last[name][::2]:
            last[name] = (ts, value, step)
    with httpx.Client(base_url=served_api.url + "/api/v1", headers=viewer.headers, timeout=30) as http:
        job_url = f"/clusters/{watchers.cluster}/trainingjobs/{namespace}/sft"
        latest = http.get(job_url).json()["latest_metrics"]
    assert {k: (v["timestamp"], v["value"], v["iteration"]) for k, v in latest.items()} == last
    assert {v["data_source"] for v in latest.values()} == {"log"}

    # The job and its pods go; what was kept stays readable.
    _custom(kube).delete_namespaced_custom_object("kubeflow.org", "v1", namespace, "pytorchjobs", "sft")
    core = client.CoreV1Api(kube)
    wait_until(lambda: not core.list_namespaced_pod(namespace).items, 20, "the pods to be deleted")
    headers = viewer.headers
    with httpx.Client(base_url=served_api.url + "/api/v1", headers=headers, timeout=30) as http:
        page = http.get(
            f"/clusters/{watchers.cluster}/trainingjobs/{namespace}/sft/logs",
            params={"pod": "sft-master-0", "limit": 10_000},
        ).json()
        assert [line["line"] for line in page["lines"]] == [t for _, t in kept["sft-master-0"]]
        assert [(s["pod"], s["lines"], s["dropped"]) for s in page["streams"]] == [
            ("sft-master-0", len(kept["sft-master-0"]), 0)
        ]
        points = http.get(f"/workloads/{uid}/metrics/data").json()
        got = sorted((p["metric_name"], p["value"], p["timestamp"], p["iteration"]) for p in points["data"])
        # A point is (name, value, time, step): the last step's `epoch` and the summary's, printed in the
        # same millisecond, are the same point and stored once.
        assert got == sorted(set(expected_points(master_printed)))
        assert {p["data_source"] for p in points["data"]} == {"log"}
        available = http.get(f"/workloads/{uid}/metrics/available").json()
        names = {m["name"]: m["count"] for m in available["metrics"]}
        assert names["loss"] == sum(1 for _, t in master_printed if t.startswith("{'loss'"))
        assert {"grad_norm", "learning_rate", "epoch", "train_runtime", "train_loss"} <= set(names)

    # Live: every stored line of the job reached the subscriber once, in id order.
    everything = [line for pod in pods for line in stored(database_url, pod, "pytorch", namespace)]
    wait_until(
        lambda: len(live.of_type("event", "l")) >= len(everything), 20, "every line over the WebSocket"
    )
    events = live.of_type("event", "l")
    assert sorted(int(e["id"]) for e in events) == [int(e["id"]) for e in events]
    assert sorted(int(e["id"]) for e in events) == sorted(r.id for r in everything)
    assert not live.order_violations

    # `since` resumes after any line, without gap or repeat.
    middle = events[len(events) // 2]
    again = ws_client(viewer.token)
    again.subscribe("r", watchers.cluster, "logs", namespace=namespace, job="sft", since=middle["id"])
    wait_until(lambda: len(again.of_type("event", "r")) >= len(events) // 2 - 1, 20, "the replay")
    time.sleep(0.2)  # nothing more may arrive: the job is gone
    assert [e["id"] for e in again.of_type("event", "r")] == [
        e["id"] for e in events if int(e["id"]) > int(middle["id"])
    ]


def test_a_pod_that_comes_and_goes_at_once_is_still_collected(
    kube: client.ApiClient, namespace: str, watchers: Watchers, collectors: Collectors, database_url: str
) -> None:
    """A job whose whole life is shorter than the collector's campaign interval: followed from its pods'
    ADDED events, every line it printed is kept, and stays kept once the job and its pod are deleted.
    (Deleting it before the collector has opened its log would lose lines on any cluster: a deleted pod's
    log is gone from the kubelet, so the test deletes only once the lines are stored.)"""
    watchers.start("w1")
    collectors.start("c1")
    wait_until(lambda: collectors.leader() is not None, 10, "a collector to lead")
    _custom(kube).create_namespaced_custom_object(
        "kubeflow.org",
        "v1",
        namespace,
        "pytorchjobs",
        pytorchjob("blink", steps=3, step_seconds=0.01, workers=0),
    )
    wait_until(lambda: _succeeded(kube, namespace, "blink"), 30, "the job to succeed", interval=0.01)
    expected = printed(kube, namespace, "blink-master-0", "pytorch")
    wait_until(
        lambda: len(stored(database_url, "blink-master-0", "pytorch", namespace)) >= len(expected), 60,
        "every line of the short-lived pod",
    )  # fmt: skip
    _custom(kube).delete_namespaced_custom_object("kubeflow.org", "v1", namespace, "pytorchjobs", "blink")
    core = client.CoreV1Api(kube)
    wait_until(lambda: not core.list_namespaced_pod(namespace).items, 20, "the pod to be deleted")
    rows = stored(database_url, "blink-master-0", "pytorch", namespace)
    assert [(r.ts, r.line) for r in rows] == expected
    assert [r.seq for r in rows] == list(range(1, len(expected) + 1))


def test_a_pod_logging_faster_than_storage_is_throttled_and_its_drops_counted(  # noqa: PLR0917 - pytest fixtures
    kube: client.ApiClient,
    kubesim: RunningKubeSim,
    namespace: str,
    watchers: Watchers,
    collectors: Collectors,
    served_api: ServedApi,
    viewer: ApiUser,
    database_url: str,
) -> None:
    watchers.start("w1")
    # A long lease: the stall below must not cost the collector its term (which would reread, not drop).
    follow = FollowTuning(buffer_lines=50, throttle_seconds=0.05, backoff_base=0.05)
    tuning = CollectorTuning(ttl_seconds=30.0, campaign_interval=0.2, follow=follow)
    collector = collectors.start("c1", tuning)
    _custom(kube).create_namespaced_custom_object(
        "kubeflow.org",
        "v1",
        namespace,
        "pytorchjobs",
        pytorchjob("loud", steps=5, step_seconds=10_000, workers=0),
    )
    pod = "loud-master-0"
    wait_until(lambda: len(stored(database_url, pod, "pytorch", namespace)) >= 5, 30, "the prelude stored")
    # Storage stalls: the test holds the collector's fence row, so its next batch waits.
    with psycopg.connect(database_url.replace("+psycopg", "")) as stall:
        stall.execute(
            "SELECT fence FROM log_collector_leases WHERE cluster = %s FOR UPDATE", (watchers.cluster,)
        )
        kubesim.call(
            lambda: [kubesim.sim.logs.append(namespace, pod, "pytorch", f"burst {i}") for i in range(3000)]
        )
        wait_until(lambda: any(f.follower.dropped for f in collector._followed.values()), 20, "lines dropped")
        stall.rollback()
    total = len(printed(kube, namespace, pod, "pytorch"))
    with httpx.Client(base_url=served_api.url + "/api/v1", headers=viewer.headers, timeout=30) as http:
        url = f"/clusters/{watchers.cluster}/trainingjobs/{namespace}/loud/logs"

        def accounted() -> bool:
            s = http.get(url, params={"tail": 0}).json()["streams"][0]
            return bool(s["lines"] + s["dropped"] == total)

        wait_until(accounted, 60, "every line stored or counted as dropped")
        stream = http.get(url, params={"tail": 0}).json()["streams"][0]
        assert stream["dropped"] > 0
        kept = http.get(url + "/download").text.splitlines()
        assert (
            kept[-1] == f"[podium] {stream['dropped']} lines were dropped by the collector (storage too slow)"
        )
    rows = stored(database_url, pod, "pytorch", namespace)
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))  # drops leave no hole in the sequence
    _custom(kube).delete_namespaced_custom_object("kubeflow.org", "v1", namespace, "pytorchjobs", "loud")
    core = client.CoreV1Api(kube)
    wait_until(lambda: not core.list_namespaced_pod(namespace).items, 20, "the pod to be deleted")


def test_download_pods_are_collected(  # noqa: PLR0917 - pytest fixtures
    kube: client.ApiClient,
    namespace: str,
    watchers: Watchers,
    collectors: Collectors,
    served_api: ServedApi,
    viewer: ApiUser,
    database_url: str,
) -> None:
    watchers.start("w1")
    collectors.start("c1")
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "dl", "labels": {"app.kubernetes.io/component": "model-download"}},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "download",
                            "image": "python:3.11",
                            "command": [
                                "huggingface-cli",
                                "download",
                                "Qwen/Qwen2.5-0.5B",
                                "--local-dir",
                                "/models/q",
                            ],
                        }
                    ],
                }
            },
        },
    }
    client.BatchV1Api(kube).create_namespaced_job(namespace, job)
    core = client.CoreV1Api(kube)
    wait_until(lambda: core.list_namespaced_pod(namespace).items, 20, "the download pod")
    pod = core.list_namespaced_pod(namespace).items[0].metadata.name
    wait_until(
        lambda: core.read_namespaced_pod(pod, namespace).status.phase == "Succeeded",
        60,
        "the download to finish",
    )
    expected = printed(kube, namespace, pod, "download")
    wait_until(
        lambda: len(stored(database_url, pod, "download", namespace)) == len(expected), 20, "the download log"
    )
    assert [(r.ts, r.line) for r in stored(database_url, pod, "download", namespace)] == expected
    assert any("10/10 [" in t for _, t in expected)
    # A plain Job without the label is not collected.
    plain = {**job, "metadata": {"name": "other"}}
    client.BatchV1Api(kube).create_namespaced_job(namespace, plain)
    with httpx.Client(base_url=served_api.url + "/api/v1", headers=viewer.headers, timeout=30) as http:
        r = http.get(f"/clusters/{watchers.cluster}/trainingjobs/{namespace}/dl/logs")
        assert [line["line"] for line in r.json()["lines"]] == [t for _, t in expected]
        time.sleep(1.0)  # long enough for the collector to have picked "other" up, were it collecting it
        assert (
            http.get(f"/clusters/{watchers.cluster}/trainingjobs/{namespace}/other/logs").status_code == 404
        )
