"""Pure parsing: Kubernetes log timestamps, and Hugging Face Trainer / LLaMA-Factory lines → metric points.

Safety: a metric line is evaluated only if it is a bounded-size dict literal, with `ast.literal_eval`
(literals only, never `eval`), and only numeric values become points. A line that looks like a metric
dict but does not parse is skipped and counted.

Iteration: the Trainer prints no step number in its log dict, so it comes from the tqdm step counter
(`10/200 [...]`). LLaMA-Factory's output (and kubesim's) prints the dict of step n *before* the bar
reaches n, so a per-step dict belongs to the step after the last bar seen; the final summary follows
the last bar and takes its count. Bars whose total is not the run's `Total optimization steps` (an
evaluation bar, a download bar) do not move the counter."""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

MAX_DICT_CHARS = 4096  # a Trainer log dict is a few hundred characters; anything larger is not one
MAX_KEYS = 64
MAX_NAME = 255  # the stored metric name's limit

_TS = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2}) ")
_BAR = re.compile(r"(\d+)/(\d+) \[")
_TOTAL = re.compile(r"Total optimization steps = ([\d,]+)")
_SUMMARY_KEYS = frozenset({"train_runtime", "train_samples_per_second", "train_steps_per_second"})


def split_timestamp(raw: str) -> tuple[datetime, str] | None:
    """`2026-01-02T03:04:05.123456789Z text` (the API server's `timestamps=true`) → (time, text).
    Precision is cut to microseconds, what Postgres keeps; resumes compare at that precision too."""
    m = _TS.match(raw)
    if m is None:
        return None
    base, frac, zone = m.groups()
    micro = int((frac or "0").ljust(6, "0")[:6])
    ts = datetime.fromisoformat(base + ("+00:00" if zone == "Z" else zone)).replace(microsecond=micro)
    return ts.astimezone(UTC), raw[m.end() :]


def to_ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


@dataclass(frozen=True)
class ParsedPoint:
    name: str
    value: float
    iteration: int


def _literal_dict(text: str) -> dict[str, float] | None:
    """The numeric entries of a dict literal, or None when `text` is not one (raises ValueError when it
    looks like one but does not parse)."""
    if len(text) > MAX_DICT_CHARS:
        raise ValueError("too long for a metrics dict")
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
        raise ValueError(str(exc)) from exc
    if not isinstance(value, dict) or len(value) > MAX_KEYS:
        raise ValueError("not a flat dict")
    out: dict[str, float] = {}
    for k, v in value.items():
        if (
            isinstance(k, str)
            and 0 < len(k) <= MAX_NAME
            and isinstance(v, int | float)
            and not isinstance(v, bool)
        ):
            f = float(v)
            if math.isfinite(f):
                out[k] = f
    return out


@dataclass
class MetricParser:
    """One per container stream, fed lines in order; counts lines that looked like metrics but failed."""

    last_step: int = 0
    total_steps: int | None = None
    skipped: int = 0
    parsed: int = 0
    _done_summary: bool = field(default=False, repr=False)

    def feed(self, line: str) -> list[ParsedPoint]:
        text = line.rsplit("\r", 1)[-1].strip()  # a tqdm line rewritten with \r: its latest state
        if not text:
            return []
        if text.startswith("{") and text.endswith("}"):
            return self._dict(text)
        if "/" in text and "[" in text:
            bars = _BAR.findall(text)
            if bars:
                done, total = int(bars[-1][0]), int(bars[-1][1])
                if self.total_steps is None or total == self.total_steps:
                    self.last_step = done
            return []
        if "Total optimization steps" in text:
            m = _TOTAL.search(text)
            if m:
                self.total_steps = int(m.group(1).replace(",", ""))
        return []

    def _dict(self, text: str) -> list[ParsedPoint]:
        try:
            values = _literal_dict(text)
        except ValueError:
            self.skipped += 1
            return []
        if values is None or not values:
            return []
        if _SUMMARY_KEYS & values.keys():
            iteration = self.last_step if self.total_steps is None else max(self.last_step, self.total_steps)
        else:
            iteration = self.last_step + 1
            if self.total_steps is not None:
                iteration = min(iteration, self.total_steps)
        self.parsed += 1
        return [ParsedPoint(k, v, iteration) for k, v in values.items()]
