"""The store on real Postgres: fencing, positions moving with the lines, replays stored once, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from api.fixtures import unique
from podium_shared.db.session import session_factory
from podium_shared.models.telemetry import LogLine, MetricPoint
from podium_shared.telemetry import store
from podium_shared.telemetry.store import Fenced, Line, Point, StreamBatch, StreamKey, Workload
from sqlalchemy import func, select

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _batch(cluster: str, key: StreamKey, seqs: range, ts_offset: int = 0) -> StreamBatch:
    w = Workload(f"uid-{key.pod_uid}", cluster, "team-a", "job-a", "PyTorchJob")
    lines = [Line(s, T0 + timedelta(seconds=s + ts_offset), f"line {s}", 1) for s in seqs]
    points = [Point("loss", 1.0 / s, s * 1000, s, "pod-0") for s in seqs]
    return StreamBatch(key, w, "pod-0", lines, points, dropped=2)


def test_batches_move_positions_and_a_deposed_writer_is_fenced(database_url: str) -> None:
    sessions = session_factory(database_url)
    cluster, key = unique("c"), StreamKey(unique("pod"), "main")
    with sessions.begin() as s:
        old = store.claim(s, cluster, "a")
    with sessions.begin() as s:
        stored = store.write_batches(s, cluster, old, [_batch(cluster, key, range(1, 4))])
    assert [r["seq"] for r in stored] == [1, 2, 3]
    assert stored[0]["id"] < stored[1]["id"] < stored[2]["id"]
    assert stored[0]["job"] == "job-a"
    with sessions.begin() as s:
        new = store.claim(s, cluster, "b")
    assert new == old + 1
    with pytest.raises(Fenced), sessions.begin() as s:
        store.write_batches(s, cluster, old, [_batch(cluster, key, range(4, 6))])
    with sessions.begin() as s:
        # A replay of lines the previous leader already stored is stored once.
        again = store.write_batches(s, cluster, new, [_batch(cluster, key, range(2, 6))])
    assert [r["seq"] for r in again] == [4, 5]
    with sessions() as s:
        pos, dropped, _ = store.position(s, key)
        assert (pos.last_seq, pos.last_ts, dropped) == (5, T0 + timedelta(seconds=5), 4)
        assert s.execute(select(func.count()).where(LogLine.pod_uid == key.pod_uid)).scalar_one() == 5
        uid = f"uid-{key.pod_uid}"
        assert s.execute(select(func.count()).where(MetricPoint.workload_uid == uid)).scalar_one() == 5
        assert store.recent_text(s, key, head=1, tail=2) == ["line 1", "line 4", "line 5"]


def test_retention_purges_old_lines_only(database_url: str) -> None:
    sessions = session_factory(database_url)
    cluster, key = unique("c"), StreamKey(unique("pod"), "main")
    with sessions.begin() as s:
        fence = store.claim(s, cluster, "a")
        store.write_batches(s, cluster, fence, [_batch(cluster, key, range(1, 11))])
    with sessions.begin() as s:
        while store.purge_lines(s, T0 + timedelta(seconds=5), limit=3):
            pass
    with sessions() as s:
        left = s.execute(select(LogLine.seq).where(LogLine.pod_uid == key.pod_uid).order_by(LogLine.seq))
        assert list(left.scalars()) == [5, 6, 7, 8, 9, 10]
