"""Pod container logs: the kubelet appends lines, the pods/log endpoint reads and follows them."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

_MAX_LINES = 20_000  # per container; older lines roll off like a rotated container log


@dataclass
class _Stream:
    lines: deque[tuple[datetime, str]] = field(default_factory=lambda: deque(maxlen=_MAX_LINES))
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    total: int = 0  # lines ever appended, so followers can tell what is new after roll-off
    closed: bool = False


def _format(ts: datetime, line: str, timestamps: bool) -> str:
    if not timestamps:
        return line
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z " + line


class LogBook:
    def __init__(self) -> None:
        self._streams: dict[tuple[str, str, str], _Stream] = {}

    def _stream(self, namespace: str, pod: str, container: str) -> _Stream:
        key = (namespace, pod, container)
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = _Stream()
        return stream

    def append(self, namespace: str, pod: str, container: str, line: str, ts: datetime | None = None) -> None:
        stream = self._stream(namespace, pod, container)
        for part in line.rstrip("\n").split("\n"):
            stream.lines.append((ts or datetime.now(UTC), part))
            stream.total += 1
        stream.changed.set()

    def containers(self, namespace: str, pod: str) -> list[str]:
        return [c for (ns, p, c) in self._streams if ns == namespace and p == pod]

    def read(
        self,
        namespace: str,
        pod: str,
        container: str,
        *,
        tail_lines: int | None = None,
        since_seconds: int | None = None,
        since_time: datetime | None = None,
        timestamps: bool = False,
    ) -> list[str]:
        stream = self._streams.get((namespace, pod, container))
        if stream is None:
            return []
        entries = list(stream.lines)
        cutoff = since_time
        if since_seconds is not None:
            cutoff = datetime.now(UTC) - timedelta(seconds=since_seconds)
        if cutoff is not None:
            entries = [e for e in entries if e[0] >= cutoff]
        if tail_lines is not None:
            entries = entries[-tail_lines:] if tail_lines > 0 else []
        return [_format(ts, line, timestamps) for ts, line in entries]

    async def follow(
        self,
        namespace: str,
        pod: str,
        container: str,
        *,
        tail_lines: int | None = None,
        since_seconds: int | None = None,
        since_time: datetime | None = None,
        timestamps: bool = False,
        alive: Callable[[], bool] = lambda: True,
        poll_seconds: float = 0.5,
    ) -> AsyncIterator[list[str]]:
        """Yield existing lines then new ones, in batches of what is there, until `alive()` turns false or
        the stream is dropped. Only the new lines are copied (a busy log must not cost a full copy each)."""
        stream = self._stream(namespace, pod, container)
        first = self.read(
            namespace,
            pod,
            container,
            tail_lines=tail_lines,
            since_seconds=since_seconds,
            since_time=since_time,
            timestamps=timestamps,
        )
        if first:
            yield first
        seen = stream.total
        while True:
            if stream.total > seen:
                new = min(stream.total - seen, len(stream.lines))
                batch = list(itertools.islice(reversed(stream.lines), new))
                batch.reverse()
                seen = stream.total
                yield [_format(ts, line, timestamps) for ts, line in batch]
                continue
            if stream.closed or not alive():
                return
            stream.changed.clear()
            # Wake on a new line, or now and then to notice that the pod went away.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stream.changed.wait(), timeout=poll_seconds)

    def drop(self, namespace: str, pod: str) -> None:
        for key in [k for k in self._streams if k[0] == namespace and k[1] == pod]:
            stream = self._streams.pop(key)
            stream.closed = True
            stream.changed.set()
