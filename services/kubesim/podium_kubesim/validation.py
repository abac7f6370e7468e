"""Create/update validation with apimachinery's messages: names, labels, required fields, selectors."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from podium_kubesim.errors import invalid
from podium_kubesim.resources import Resource

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

DNS1123_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
    "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
DNS1035_LABEL_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
    "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
QUALIFIED_NAME_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
    "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex "
    "used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)

# Kinds whose names are DNS-1123 labels (no dots) or DNS-1035 labels, as their real validators require.
_LABEL_NAMED = {"namespaces", "services"}
_DNS1035_NAMED = {"services"}

Cause = dict[str, str]


def _cause(reason: str, field: str, message: str) -> Cause:
    return {"reason": reason, "message": message, "field": field}


def _invalid_value(field: str, value: Any, why: str) -> Cause:
    return _cause("FieldValueInvalid", field, f"Invalid value: {json.dumps(value)}: {why}")


def _required(field: str) -> Cause:
    return _cause("FieldValueRequired", field, "Required value")


def name_errors(res: Resource, name: str) -> list[str]:
    if res.storage_key in _DNS1035_NAMED:
        ok, msg, limit = bool(_DNS1035_LABEL.match(name)), DNS1035_LABEL_MSG, 63
    elif res.storage_key in _LABEL_NAMED:
        ok, msg, limit = bool(_DNS1123_LABEL.match(name)), DNS1123_LABEL_MSG, 63
    else:
        ok, msg, limit = bool(_DNS1123_SUBDOMAIN.match(name)), DNS1123_SUBDOMAIN_MSG, 253
    errors = [] if ok else [msg]
    if len(name) > limit:
        errors.insert(0, f"must be no more than {limit} characters")
    return errors


def label_key_errors(key: str) -> list[str]:
    prefix, _, name = key.rpartition("/")
    errors: list[str] = []
    if "/" in key and not prefix:
        errors.append("prefix part must be non-empty")
    elif prefix and not _DNS1123_SUBDOMAIN.match(prefix):
        errors.append("prefix part " + DNS1123_SUBDOMAIN_MSG)
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > 63:
        errors.append("name part must be no more than 63 characters")
    elif not _QUALIFIED_NAME.match(name):
        errors.append(QUALIFIED_NAME_MSG)
    return errors


def label_value_errors(value: str) -> list[str]:
    errors: list[str] = []
    if len(value) > 63:
        errors.append("must be no more than 63 characters")
    if not _LABEL_VALUE.match(value):
        errors.append(LABEL_VALUE_MSG)
    return errors


def _labels(field: str, labels: Any) -> list[Cause]:
    causes: list[Cause] = []
    if labels is None:
        return causes
    if not isinstance(labels, Mapping):
        return [_invalid_value(field, labels, "must be a map of strings")]
    for key, value in labels.items():
        for why in label_key_errors(str(key)):
            causes.append(_invalid_value(field, key, why))
        if not isinstance(value, str):
            causes.append(_invalid_value(f"{field}", value, "label values must be strings"))
            continue
        for why in label_value_errors(value):
            causes.append(_invalid_value(f"{field}", value, why))
    return causes


def validate(res: Resource, obj: Mapping[str, Any], *, creating: bool) -> None:
    """Raise 422 Invalid listing every bad field, in apimachinery's words."""
    meta = obj.get("metadata") or {}
    name = str(meta.get("name") or "")
    causes: list[Cause] = []
    if creating:
        for why in name_errors(res, name):
            causes.append(_invalid_value("metadata.name", name, why))
    causes += _labels("metadata.labels", meta.get("labels"))
    annotations = meta.get("annotations")
    if isinstance(annotations, Mapping):
        for key in annotations:
            for why in label_key_errors(str(key)):
                causes.append(_invalid_value("metadata.annotations", key, why))
    checker = _KIND_CHECKS.get(res.storage_key)
    if checker is not None:
        causes += checker(obj)
    if causes:
        raise invalid(res, name, causes)


def _pod_spec(spec: Any, field: str) -> list[Cause]:
    if not isinstance(spec, Mapping):
        return [_required(field)]
    causes: list[Cause] = []
    containers = spec.get("containers")
    if not containers:
        return [_required(f"{field}.containers")]
    seen: set[str] = set()
    for i, c in enumerate(containers):
        cf = f"{field}.containers[{i}]"
        cname = c.get("name") if isinstance(c, Mapping) else None
        if not cname:
            causes.append(_required(f"{cf}.name"))
        elif not _DNS1123_LABEL.match(str(cname)):
            causes.append(_invalid_value(f"{cf}.name", cname, DNS1123_LABEL_MSG))
        elif cname in seen:
            causes.append(_cause("FieldValueDuplicate", f"{cf}.name", f'Duplicate value: "{cname}"'))
        else:
            seen.add(str(cname))
        if not isinstance(c, Mapping) or not c.get("image"):
            causes.append(_required(f"{cf}.image"))
        for j, port in enumerate((c.get("ports") or []) if isinstance(c, Mapping) else []):
            cp = port.get("containerPort") if isinstance(port, Mapping) else None
            if not isinstance(cp, int) or not 0 < cp < 65536:
                causes.append(
                    _invalid_value(
                        f"{cf}.ports[{j}].containerPort", cp, "must be between 1 and 65535, inclusive"
                    )
                )
    return causes


def _pod(obj: Mapping[str, Any]) -> list[Cause]:
    return _pod_spec(obj.get("spec"), "spec")


def _template_owner(obj: Mapping[str, Any], *, selector_required: bool = True) -> list[Cause]:
    from podium_kubesim.selectors import (  # noqa: PLC0415 - selectors imports this module
        labels_match,
        selector_from_label_selector_object,
    )

    spec = obj.get("spec")
    if not isinstance(spec, Mapping):
        return [_required("spec")]
    causes: list[Cause] = []
    template = spec.get("template") or {}
    tlabels = (template.get("metadata") or {}).get("labels") or {}
    causes += _labels("spec.template.metadata.labels", tlabels)
    selector = spec.get("selector")
    if selector_required and not selector:
        causes.append(_required("spec.selector"))
    elif selector:
        if not selector.get("matchLabels") and not selector.get("matchExpressions"):
            causes.append(
                _invalid_value("spec.selector", selector, "empty selector is invalid for deployment")
            )
        elif not labels_match(selector_from_label_selector_object(selector), tlabels):
            causes.append(
                _invalid_value(
                    "spec.template.metadata.labels",
                    tlabels,
                    "`selector` does not match template `labels`",
                )
            )
    replicas = spec.get("replicas")
    if replicas is not None and (not isinstance(replicas, int) or replicas < 0):
        causes.append(_invalid_value("spec.replicas", replicas, "must be greater than or equal to 0"))
    causes += _pod_spec(template.get("spec"), "spec.template.spec")
    return causes


def _job(obj: Mapping[str, Any]) -> list[Cause]:
    return _template_owner(obj, selector_required=False)


def _service(obj: Mapping[str, Any]) -> list[Cause]:
    spec = obj.get("spec") or {}
    causes: list[Cause] = []
    stype = spec.get("type", "ClusterIP")
    if stype not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
        causes.append(
            _cause(
                "FieldValueNotSupported",
                "spec.type",
                f'Unsupported value: "{stype}": supported values: "ClusterIP", "ExternalName", '
                '"LoadBalancer", "NodePort"',
            )
        )
    if stype != "ExternalName" and not spec.get("ports") and spec.get("clusterIP") != "None":
        causes.append(_required("spec.ports"))
    for i, port in enumerate(spec.get("ports") or []):
        p = port.get("port") if isinstance(port, Mapping) else None
        if not isinstance(p, int) or not 0 < p < 65536:
            causes.append(
                _invalid_value(f"spec.ports[{i}].port", p, "must be between 1 and 65535, inclusive")
            )
    causes += _labels("spec.selector", spec.get("selector"))
    return causes


def _configmap(obj: Mapping[str, Any]) -> list[Cause]:
    causes: list[Cause] = []
    for field in ("data", "binaryData"):
        for key in obj.get(field) or {}:
            if not re.fullmatch(r"[-._a-zA-Z0-9]+", str(key)):
                causes.append(
                    _invalid_value(
                        f"{field}[{key}]",
                        key,
                        "a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
                        "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
                        "'[-._a-zA-Z0-9]+')",
                    )
                )
    return causes


_KIND_CHECKS = {
    "pods": _pod,
    "deployments.apps": _template_owner,
    "replicasets.apps": _template_owner,
    "jobs.batch": _job,
    "services": _service,
    "configmaps": _configmap,
    "secrets": _configmap,
}


# --- immutability on update (API requests only: controllers write as the control plane does) -----------

_POD_UPDATE_FORBIDDEN = (
    "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
    "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
    "previously negative)"
)


def _immutable(field: str, value: Any) -> Cause:
    return _cause("FieldValueInvalid", field, f"Invalid value: {json.dumps(value)}: field is immutable")


def _pod_spec_mutable_view(spec: Mapping[str, Any]) -> dict[str, Any]:
    # schedulingGates may be removed while a pod waits; nodeName is set by the scheduler's binding.
    mutable = (
        "activeDeadlineSeconds",
        "tolerations",
        "terminationGracePeriodSeconds",
        "nodeName",
        "schedulingGates",
    )
    view = {k: v for k, v in spec.items() if k not in mutable}
    for key in ("containers", "initContainers"):
        if key in view:
            view[key] = [
                {k: v for k, v in c.items() if k != "image"} for c in view[key] if isinstance(c, Mapping)
            ]
    return view


def validate_immutable(res: Resource, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
    """422 when an API update changes a field the real server refuses to change."""
    name = str(new.get("metadata", {}).get("name", ""))
    old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
    causes: list[Cause] = []
    key = res.storage_key
    if key in ("deployments.apps", "replicasets.apps", "jobs.batch") and old_spec.get(
        "selector"
    ) != new_spec.get("selector"):
        causes.append(_immutable("spec.selector", new_spec.get("selector")))
    if key == "jobs.batch" and old_spec.get("template") != new_spec.get("template"):
        causes.append(_immutable("spec.template", new_spec.get("template")))
    if key == "pods":
        moved = bool(old_spec.get("nodeName")) and old_spec.get("nodeName") != new_spec.get("nodeName")
        if moved or _pod_spec_mutable_view(old_spec) != _pod_spec_mutable_view(new_spec):
            causes.append(_cause("FieldValueForbidden", "spec", _POD_UPDATE_FORBIDDEN))
    if (
        key == "services"
        and old_spec.get("clusterIP")
        and new_spec.get("clusterIP")
        not in (
            None,
            old_spec.get("clusterIP"),
        )
    ):
        causes.append(_immutable("spec.clusterIPs[0]", new_spec.get("clusterIP")))
    if causes:
        raise invalid(res, name, causes)
