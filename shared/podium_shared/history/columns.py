"""Which tags become table columns, and in which order: the business tags of a training run first (the
order the old tool's table used), then the rest alphabetically. MLflow's own `mlflow.*` tags are hidden."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

PREFERRED = (
    "model",
    "dataset",
    "instance_type",
    "replica_count",
    "proc_per_node",
    "batch_size",
    "cutoff_len",
    "deepspeed_conf",
)
_RANK = {name: i for i, name in enumerate(PREFERRED)}
HIDDEN_PREFIX = "mlflow."


def visible_tags(tags: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if not k.startswith(HIDDEN_PREFIX)}


def tag_columns(runs_tags: Iterable[Mapping[str, str]]) -> list[str]:
    """The union of the visible tag keys of `runs_tags`, preferred keys first, then alphabetical."""
    keys = {k for tags in runs_tags for k in tags if not k.startswith(HIDDEN_PREFIX)}
    return sorted(keys, key=lambda k: (_RANK.get(k, len(PREFERRED)), k))
