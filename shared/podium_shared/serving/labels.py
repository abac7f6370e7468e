"""The label and annotation keys of the model-pool contract, defined once.

A pool pod is found by `deployment-type=model-pool`, belongs to a model by `model=<tag>` and to a business
by `business=<name>`; a business Service selects exactly `model` + `business`. Every other module (and the
console, through `describe`) reads these names from here, so renaming a key is a one-line change here plus
a migration of live objects, never a hunt through string literals."""

from __future__ import annotations

from typing import Final

# Pool contract (plain keys, because existing clusters and the old tool already use them).
MODEL: Final = "model"
BUSINESS: Final = "business"
DEPLOYMENT_TYPE: Final = "deployment-type"
SERVICE_TYPE: Final = "service-type"

UNASSIGNED: Final = "unassigned"
# A pod leaving a business waits here, selected by no Service and not eligible for scale-down, until its
# in-flight requests finish; a crash mid-drain leaves it visible, and the retried operation resumes.
DRAINING: Final = "draining"
RESERVED_BUSINESSES: Final = frozenset({UNASSIGNED, DRAINING})
MODEL_POOL: Final = "model-pool"
STANDARD: Final = "standard"
BUSINESS_SERVICE: Final = "business-service"
MODEL_SERVICE: Final = "model-service"

# Kubernetes recommended labels.
APP_NAME: Final = "app.kubernetes.io/name"
APP_INSTANCE: Final = "app.kubernetes.io/instance"
APP_COMPONENT: Final = "app.kubernetes.io/component"
APP_PART_OF: Final = "app.kubernetes.io/part-of"
APP_MANAGED_BY: Final = "app.kubernetes.io/managed-by"
MANAGED_BY_PODIUM: Final = "podium"
PART_OF: Final = "podium-serving"

# Engine of a deployment (vllm | sglang | ollama); read back by `describe`.
ENGINE: Final = "podium.dev/engine"

# Annotations: label values are limited to 63 safe characters, so the exact model id lives here.
MODEL_ID_ANNOTATION: Final = "podium.dev/model-id"
GPUS_ANNOTATION: Final = "podium.dev/gpus-per-replica"
# The Deployment a pool pod or business Service belongs to (its name, same namespace).
POOL_ANNOTATION: Final = "podium.dev/pool"

POD_DELETION_COST: Final = "controller.kubernetes.io/pod-deletion-cost"
# On a pool's Deployment: the scale-down in flight (operation, target, chosen and assigned pods), written
# with the replica count so a retried attempt can verify what the first one started (pool_scaling.py).
SCALE_DOWN_PLAN: Final = "podium.dev/scale-down"
# The ReplicaSet controller removes the lowest cost first; these bracket every cost Podium sets.
DELETION_COST_LOW: Final = "-1000"
DELETION_COST_HIGH: Final = "1000"

NLB_TYPE: Final = "service.beta.kubernetes.io/aws-load-balancer-type"
NLB_TARGET_TYPE: Final = "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"
NLB_SCHEME: Final = "service.beta.kubernetes.io/aws-load-balancer-scheme"


def common_labels(*, instance: str, component: str) -> dict[str, str]:
    return {
        APP_NAME: "model-serving",
        APP_INSTANCE: instance,
        APP_COMPONENT: component,
        APP_PART_OF: PART_OF,
        APP_MANAGED_BY: MANAGED_BY_PODIUM,
    }


def business_selector(model_tag: str, business: str) -> dict[str, str]:
    return {MODEL: model_tag, BUSINESS: business}


def is_pool_pod(labels: dict[str, str] | None) -> bool:
    # The old tool tested only `business !== undefined`, which matched hand-made pods; all three must hold.
    labels = labels or {}
    return labels.get(DEPLOYMENT_TYPE) == MODEL_POOL and bool(labels.get(MODEL)) and BUSINESS in labels


def label_selector(selector: dict[str, str]) -> str:
    """`k=v,k=v` for list calls; the values were validated as label values before they got here."""
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
