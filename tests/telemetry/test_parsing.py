"""The metric parser against kubesim's own Trainer output, and hostile or broken lines."""

from __future__ import annotations

import ast
from datetime import UTC, datetime

from podium_kubesim.training import TrainingRun
from podium_shared.telemetry.parsing import MAX_DICT_CHARS, MetricParser, split_timestamp


def _printed(steps: int, seed: str) -> tuple[list[str], list[tuple[str, float, int]]]:
    """Every line a kubesim lead pod prints, and the (name, value, step) of every dict it printed."""
    run = TrainingRun(steps=steps, seed=seed)
    lines = list(run.prelude())
    expected: list[tuple[str, float, int]] = []
    for step in range(1, steps + 1):
        for line in run.step_lines(step, step * 0.5):
            if line.startswith("{"):
                expected += [(k, float(v), step) for k, v in ast.literal_eval(line).items()]
            lines.append(line)
    for line in run.summary(steps * 0.5):
        if line.startswith("{"):
            expected += [(k, float(v), steps) for k, v in ast.literal_eval(line).items()]
        lines.append(line)
    return lines, expected


def test_points_are_what_the_trainer_printed_with_its_step() -> None:
    lines, expected = _printed(37, "job-a")
    parser = MetricParser()
    got = [(p.name, p.value, p.iteration) for line in lines for p in parser.feed(line)]
    assert got == expected
    assert parser.skipped == 0
    assert {"loss", "grad_norm", "learning_rate", "epoch", "train_runtime", "train_loss"} <= {
        g[0] for g in got
    }


def test_a_parser_restored_from_recent_lines_continues_the_step_count() -> None:
    lines, expected = _printed(40, "job-b")
    cut = len(lines) // 2
    first = MetricParser()
    got = [(p.name, p.value, p.iteration) for line in lines[:cut] for p in first.feed(line)]
    second = MetricParser()
    for line in lines[:10] + lines[cut - 30 : cut]:  # what the collector reloads: head and tail
        second.feed(line)
    got += [(p.name, p.value, p.iteration) for line in lines[cut:] for p in second.feed(line)]
    assert got == expected


def test_broken_hostile_and_oversized_dicts_are_skipped_and_counted() -> None:
    parser = MetricParser()
    bad = [
        "{'loss': 2.5,",  # not closed: not a candidate
        "{'loss': __import__('os').system('echo pwned')}",
        "{'loss': 1.0, 'x': (lambda: 1)()}",
        "{" + "'k': 1, " * (MAX_DICT_CHARS // 6) + "}",
        "{'a': {'nested': 1}}",
    ]
    points = [p for line in bad for p in parser.feed(line)]
    assert points == []
    assert parser.skipped == 3  # the call, the lambda, the oversized one
    assert parser.feed("{'loss': 1.5, 'note': 'text', 'flag': True}")[0].name == "loss"
    assert [p.name for p in parser.feed("{'loss': 1.5, 'note': 'text', 'flag': True}")] == ["loss"]


def test_other_progress_bars_do_not_move_the_step_counter() -> None:
    parser = MetricParser()
    parser.feed("[INFO|trainer.py:2251] x >>   Total optimization steps = 1,000")
    parser.feed(" 10%|█         | 100/1000 [00:10<01:30, 10.00it/s]")
    parser.feed(" 50%|█████     | 5/10 [00:01<00:01,  5.00it/s]")  # an evaluation bar
    assert [p.iteration for p in parser.feed("{'loss': 1.0}")] == [101]


def test_kubernetes_timestamps_keep_microseconds() -> None:
    parsed = split_timestamp("2026-12-06T22:41:24.123456789Z hello world")
    assert parsed == (datetime(2026, 12, 6, 22, 41, 24, 123456, tzinfo=UTC), "hello world")
    assert split_timestamp("2026-12-06T22:41:24Z x")[0].microsecond == 0  # type: ignore[index]
    assert split_timestamp("no timestamp here") is None
