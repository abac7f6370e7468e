"""Params of the core command kinds (scale, label, annotate, delete, apply, bulk): what the API validates
(422) before an operation is stored."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from podium_shared.kube import resources
from podium_shared.operations.kinds import MAX_BULK_ITEMS, get_kind

# Kinds a bulk may contain: the ones that act on one object. `apply` (admin, many objects) and `bulk`
# itself are excluded so authorisation and progress stay per item.
BULK_ITEM_KINDS = frozenset({"scale", "label", "annotate", "delete"})
_ANNOTATIONS_MAX_BYTES = 256 * 1024


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ScaleParams(_Params):
    namespace: str
    name: str
    replicas: int = Field(ge=0, le=10_000)

    _ns = field_validator("namespace")(resources.check_namespace)
    _name = field_validator("name")(resources.check_name)


class _ObjectParams(_Params):
    namespace: str | None = None
    kind: str
    name: str

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        try:
            return resources.resource_type(value).kind.lower()
        except Exception as exc:
            raise ValueError(getattr(exc, "message", str(exc))) from None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return resources.check_name(value)

    @model_validator(mode="after")
    def _scope(self) -> _ObjectParams:
        rtype = resources.resource_type(self.kind)
        if rtype.namespaced and not self.namespace:
            raise ValueError(f"{self.kind} is namespaced: namespace is required")
        if not rtype.namespaced:
            self.namespace = None  # cluster-scoped: a namespace would only mislead the audit log
        elif self.namespace is not None:
            resources.check_namespace(self.namespace)
        return self


class LabelParams(_ObjectParams):
    # A null value removes the label.
    labels: dict[str, str | None] = Field(min_length=1, max_length=64)

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        for key, val in value.items():
            resources.check_label_key(key)
            if val is not None:
                resources.check_label_value(key, val)
        return value


class AnnotateParams(_ObjectParams):
    annotations: dict[str, str | None] = Field(min_length=1, max_length=64)

    @field_validator("annotations")
    @classmethod
    def _annotations(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        size = 0
        for key, val in value.items():
            resources.check_label_key(key)
            size += len(key) + len(val or "")
        if size > _ANNOTATIONS_MAX_BYTES:
            raise ValueError("annotations may hold at most 256 KiB in total")
        return value


class DeleteParams(_ObjectParams):
    pass


class ApplyParams(_Params):
    manifests: list[dict[str, Any]] = Field(min_length=1, max_length=200)

    @field_validator("manifests")
    @classmethod
    def _manifests(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for i, manifest in enumerate(value):
            meta = manifest.get("metadata")
            if not isinstance(manifest.get("apiVersion"), str) or not isinstance(manifest.get("kind"), str):
                raise ValueError(f"manifests[{i}]: apiVersion and kind are required")
            if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
                raise ValueError(f"manifests[{i}]: metadata.name is required")
            resources.check_name(meta["name"], f"manifests[{i}].metadata.name")
            if meta.get("namespace") is not None:
                resources.check_namespace(str(meta["namespace"]))
        return value


class BulkItem(_Params):
    kind: str
    params: dict[str, Any]


class BulkParams(_Params):
    items: list[BulkItem] = Field(min_length=1, max_length=MAX_BULK_ITEMS)
    concurrency: int = Field(default=10, ge=1, le=100)

    @model_validator(mode="after")
    def _items(self) -> BulkParams:
        problems = []
        for i, item in enumerate(self.items):
            if item.kind not in BULK_ITEM_KINDS:
                problems.append(
                    f"items[{i}]: kind {item.kind!r} cannot be bulked ({sorted(BULK_ITEM_KINDS)})"
                )
                continue
            try:
                parsed = get_kind(item.kind).params.model_validate(item.params)
            except ValueError as exc:
                problems.append(f"items[{i}] ({item.kind}): {_first_error(exc)}")
                continue
            item.params = parsed.model_dump(mode="json")
            if len(problems) >= 20:
                break
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ()))
        return f"{loc}: {first.get('msg')}" if loc else str(first.get("msg"))
    return str(exc)
