"""Label and field selectors, parsed once into predicates (apimachinery `labels.Parse` / `fields.Parse`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from podium_kubesim.errors import ApiError, bad_request
from podium_kubesim.resources import Resource

_TOKEN = re.compile(r"\s*(!=|==|=|!|\(|\)|,|[^\s!=(),]+)")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.op == "exists":
            return self.key in labels
        if self.op == "!":
            return self.key not in labels
        if self.op in ("=", "in"):
            return self.key in labels and labels[self.key] in self.values
        # "!=" and "notin" match objects that lack the key, as in apimachinery.
        return labels.get(self.key) not in self.values


LabelSelector = tuple[Requirement, ...]


def parse_label_selector(text: str | None) -> LabelSelector:  # noqa: PLR0912 - a small hand-written parser
    if not text or not text.strip():
        return ()
    tokens = _TOKEN.findall(text)
    reqs: list[Requirement] = []
    i = 0

    def fail(why: str) -> ApiError:
        return bad_request(f"unable to parse requirement: {why}")

    while i < len(tokens):
        tok = tokens[i]
        if tok == "!":
            if i + 1 >= len(tokens):
                raise fail("missing key after '!'")
            reqs.append(Requirement(tokens[i + 1], "!"))
            i += 2
        else:
            key = tok
            if key in ("=", "==", "!=", "(", ")", ","):
                raise fail(f"found '{key}', expected: identifier")
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ","
            if nxt == ",":
                reqs.append(Requirement(key, "exists"))
                i += 1
            elif nxt in ("=", "==", "!="):
                value = tokens[i + 2] if i + 2 < len(tokens) and tokens[i + 2] not in (",", "(", ")") else ""
                reqs.append(Requirement(key, "!=" if nxt == "!=" else "=", (value,)))
                i += 3 if value else 2
            elif nxt in ("in", "notin"):
                if i + 2 >= len(tokens) or tokens[i + 2] != "(":
                    raise fail(f"found '{tokens[i + 2] if i + 2 < len(tokens) else ''}', expected: '('")
                j = i + 3
                values: list[str] = []
                while j < len(tokens) and tokens[j] != ")":
                    if tokens[j] != ",":
                        values.append(tokens[j])
                    j += 1
                if j >= len(tokens):
                    raise fail("found '', expected: ')'")
                reqs.append(Requirement(key, nxt, tuple(values)))
                i = j + 1
            else:
                raise fail(f"found '{nxt}', expected: in, notin, =, ==, !=, or end of string")
        if i < len(tokens):
            if tokens[i] != ",":
                raise fail(f"found '{tokens[i]}', expected: ','")
            i += 1
    for req in reqs:
        _check_label_key(req.key)
    return tuple(reqs)


def _check_label_key(key: str) -> None:
    from podium_kubesim.validation import label_key_errors  # noqa: PLC0415 - validation imports selectors

    errors = label_key_errors(key)
    if errors:
        raise bad_request(f'unable to parse requirement: invalid label key "{key}": {errors[0]}')


def labels_match(selector: LabelSelector, labels: Mapping[str, str] | None) -> bool:
    labels = labels or {}
    return all(req.matches(labels) for req in selector)


def selector_from_label_selector_object(sel: Mapping[str, Any] | None) -> LabelSelector:
    """Translate a metav1.LabelSelector object (matchLabels / matchExpressions) into requirements."""
    if not sel:
        return ()
    reqs = [Requirement(k, "=", (str(v),)) for k, v in (sel.get("matchLabels") or {}).items()]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for expr in sel.get("matchExpressions") or []:
        reqs.append(Requirement(expr["key"], ops[expr["operator"]], tuple(expr.get("values") or ())))
    return tuple(reqs)


# --- field selectors -----------------------------------------------------------------------------

_COMMON_FIELDS = ("metadata.name", "metadata.namespace")
_EXTRA_FIELDS: dict[str, tuple[str, ...]] = {
    "pods": (
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    ),
    "events": (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    ),
    "secrets": ("type",),
    "nodes": ("spec.unschedulable",),
    "namespaces": ("status.phase",),
    "jobs.batch": ("status.successful",),
    "replicasets.apps": ("status.replicas",),
}


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    op: str  # "=" or "!="
    value: str


FieldSelector = tuple[FieldRequirement, ...]


def parse_field_selector(res: Resource, text: str | None) -> FieldSelector:
    if not text or not text.strip():
        return ()
    allowed = _COMMON_FIELDS + _EXTRA_FIELDS.get(res.storage_key, ())
    reqs: list[FieldRequirement] = []
    for raw_part in text.split(","):
        part = raw_part.strip()
        if not part:
            continue
        m = re.fullmatch(r"([^=!]+?)\s*(!=|==|=)\s*(.*)", part)
        if not m:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = m.group(1).strip(), m.group(2), m.group(3).strip()
        if field not in allowed:
            raise bad_request(f"field label not supported: {field}")
        reqs.append(FieldRequirement(field, "!=" if op == "!=" else "=", value))
    return tuple(reqs)


def field_value(obj: Mapping[str, Any], field: str) -> str:
    if field == "source":  # events: the reporting component is exposed as "source"
        return str((obj.get("source") or {}).get("component", ""))
    cur: Any = obj
    for part in field.split("."):
        if not isinstance(cur, Mapping):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def fields_match(selector: FieldSelector, obj: Mapping[str, Any]) -> bool:
    for req in selector:
        equal = field_value(obj, req.field) == req.value
        if equal != (req.op == "="):
            return False
    return True


def make_predicate(
    res: Resource, label_selector: str | None, field_selector: str | None
) -> Callable[[Mapping[str, Any]], bool] | None:
    """One predicate for both selectors, or None when nothing filters (the fast path)."""
    labels = parse_label_selector(label_selector)
    fields = parse_field_selector(res, field_selector)
    if not labels and not fields:
        return None

    def predicate(obj: Mapping[str, Any]) -> bool:
        if labels and not labels_match(labels, obj.get("metadata", {}).get("labels")):
            return False
        return not fields or fields_match(fields, obj)

    return predicate
