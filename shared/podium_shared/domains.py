"""The one wiring module: which domains this build of Podium has.

Lower layers never import a domain (the import-linter contract in pyproject.toml refuses it); they offer a
registry instead, and `install()` fills it with explicit imports. Every process that accepts or runs
commands calls it at start: the API's `create_app`, the worker's `create_worker_app` (so `podium api`,
`podium worker` and `podium up`), and the tests' root conftest.

A new domain adds its `commands` import and ONE entry to `_DOMAIN_KINDS` (and, for a new kind of scaling,
one `add_strategy` line)."""

from __future__ import annotations

import threading

from podium_shared.infra import commands as infra_commands
from podium_shared.operations import kinds
from podium_shared.operations.kinds import CommandKind
from podium_shared.serving import commands as serving_commands
from podium_shared.serving import pool_scaling
from podium_shared.training import commands as training_commands
from podium_shared.workloads import commands as workloads_commands
from podium_shared.workloads import scaling

_DOMAIN_KINDS: tuple[list[CommandKind], ...] = (
    workloads_commands.KINDS,
    serving_commands.KINDS,
    training_commands.KINDS,
    infra_commands.KINDS,
)


class _Installed:
    lock = threading.Lock()
    done = False


def install() -> None:
    """Register every domain's command kinds with the pipeline and its hooks with other domains.
    Idempotent: a second call does nothing."""
    with _Installed.lock:
        if _Installed.done:
            return
        for domain_kinds in _DOMAIN_KINDS:
            for kind in domain_kinds:
                kinds.register(kind)
        scaling.add_strategy(
            scaling.ScalingStrategy(
                "model_pool", claims=pool_scaling.is_pool_template, scale=pool_scaling.scale_pool
            )
        )
        _Installed.done = True
