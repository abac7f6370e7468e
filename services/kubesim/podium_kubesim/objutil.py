"""Small helpers on plain-dict Kubernetes objects, shared by the store, patching and the server."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

_T = TypeVar("_T")

_NAME_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery's: no vowels, no confusables


def deep_copy(value: _T) -> _T:
    """A deep copy of JSON-shaped data, several times faster than copy.deepcopy."""
    if isinstance(value, dict):
        return cast(_T, {k: deep_copy(v) for k, v in value.items()})
    if isinstance(value, list):
        return cast(_T, [deep_copy(v) for v in value])
    return value


def drop_nulls(value: _T) -> _T:
    """A deep copy without null object fields: a typed server decodes `null` as "unset" and never stores it
    (kubectl sends `metadata.creationTimestamp: null` inside pod templates). As cheap as `deep_copy`."""
    if isinstance(value, dict):
        return cast(_T, {k: drop_nulls(v) for k, v in value.items() if v is not None})
    if isinstance(value, list):
        return cast(_T, [drop_nulls(v) for v in value])
    return value


# One compact encoder for every wire document: json.dumps(..., separators=...) builds a new encoder per
# call, which is a third of the cost of serializing a pod.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True)


def to_json(obj: Any) -> bytes:
    """Compact JSON bytes, as the API server writes them."""
    return _ENCODER.encode(obj).encode()


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def random_suffix(length: int = 5) -> str:
    return "".join(secrets.choice(_NAME_SUFFIX_ALPHABET) for _ in range(length))


def meta(obj: dict[str, Any]) -> dict[str, Any]:
    m = obj.get("metadata")
    if not isinstance(m, dict):
        m = {}
        obj["metadata"] = m
    return m


def spec_part(obj: dict[str, Any]) -> dict[str, Any]:
    """Everything but metadata and status: what metadata.generation tracks."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}
