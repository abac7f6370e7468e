"""Names derived from user input: model id → label value, Kubernetes object names, input validation.

A model id such as `Qwen/Qwen3-0.6B` is not a valid label value. The tag keeps a readable slug and adds a
short hash of the *exact* id, so ids that slug alike (`Qwen/Qwen3-0.6B`, `qwen/qwen3-0-6b`) still differ.
Tags start with a letter and stay short enough that `<engine>-<tag>` plus the ReplicaSet and Pod suffixes
(`-<10>-<5>`) remains a valid 63-character DNS label."""

from __future__ import annotations

import hashlib
import re

from podium_shared.errors import Invalid

TAG_MAX = 39
HASH_LEN = 6
# Deployment names get `-<pod-template-hash(10)>-<5>` appended for Pods; 63 - 17 = 46.
OBJECT_NAME_MAX = 46
MODEL_ID_MAX = 256

# Hugging Face ids (`org/name`), Ollama tags (`llama3:8b`), local paths (`/models/qwen`). No whitespace,
# no shell or YAML metacharacters: a model id is data, but there is no legitimate use for them either.
_MODEL_ID = re.compile(r"[A-Za-z0-9/][A-Za-z0-9._/:@+-]*")
_DNS_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")


def validate_model_id(model_id: str) -> str:
    if not model_id or len(model_id) > MODEL_ID_MAX or not _MODEL_ID.fullmatch(model_id):
        raise Invalid(
            f"invalid model id {model_id[:80]!r}: use letters, digits and . _ / : @ + - "
            f"(at most {MODEL_ID_MAX} characters, not starting with '-')",
            details={"field": "model"},
        )
    return model_id


def model_tag(model_id: str) -> str:
    validate_model_id(model_id)
    digest = hashlib.sha256(model_id.encode()).hexdigest()[:HASH_LEN]
    slug = re.sub(r"[^a-z0-9]+", "-", model_id.lower()).strip("-")
    if not slug or not slug[0].isalpha():
        slug = f"m-{slug}".rstrip("-")
    slug = slug[: TAG_MAX - HASH_LEN - 1].rstrip("-")
    return f"{slug}-{digest}"


def validate_name(value: str, *, field: str, max_len: int = OBJECT_NAME_MAX) -> str:
    """An object name we create: a DNS-1035 label (Services need the leading letter)."""
    if len(value) > max_len or not _DNS_LABEL.fullmatch(value):
        raise Invalid(
            f"invalid {field} {value[:80]!r}: lower-case letters, digits and '-', starting with a letter, "
            f"at most {max_len} characters",
            details={"field": field},
        )
    return value


def validate_pod_name(value: str) -> str:
    if len(value) > 253 or not _SUBDOMAIN.fullmatch(value):
        raise Invalid(f"invalid pod name {value[:80]!r}", details={"field": "pod"})
    return value


def validate_business(value: str) -> str:
    # A business is both a label value and part of a Service name, so it follows the stricter of the two.
    if value == "draining":
        raise Invalid("`draining` is reserved for pods leaving a business", details={"field": "business"})
    return validate_name(value, field="business", max_len=30)


def validate_label_value(value: str, *, field: str) -> str:
    if len(value) > 63 or not _LABEL_VALUE.fullmatch(value):
        raise Invalid(
            f"invalid {field} {value[:80]!r}: not a Kubernetes label value", details={"field": field}
        )
    return value


def deployment_name(engine: str, tag: str) -> str:
    return f"{engine}-{tag}"


def secret_name(deployment: str) -> str:
    return f"{deployment}-hf-token"


def service_name(deployment: str) -> str:
    return deployment


def business_service_name(pool: str, business: str) -> str:
    # Bounded by construction: pool ≤ 46 is cut so that `<pool>-<business>` fits 63.
    return f"{pool[: 62 - len(business)].rstrip('-')}-{business}"
