"""Label and annotation keys of training jobs and model downloads, defined once."""

from __future__ import annotations

from typing import Any, Final

APP_NAME: Final = "app.kubernetes.io/name"
APP_INSTANCE: Final = "app.kubernetes.io/instance"
APP_COMPONENT: Final = "app.kubernetes.io/component"
APP_PART_OF: Final = "app.kubernetes.io/part-of"
APP_MANAGED_BY: Final = "app.kubernetes.io/managed-by"
MANAGED_BY_PODIUM: Final = "podium"
PART_OF: Final = "podium-training"

TRAINING: Final = "training"
DOWNLOAD: Final = "model-download"
CREDENTIALS: Final = "credentials"

# On a training job's pod template (so on every pod): which job they belong to, selectable by name. The
# robust link from a pod to its job is still its controller ownerReference (the job's uid).
TRAINING_JOB: Final = "podium.dev/training-job"
# On a download Job's pod template.
DOWNLOAD_JOB: Final = "podium.dev/download"
# On download Jobs and their pods: how the log collector (podium_shared.telemetry) tells a model download
# from any other Job, so its progress lines are kept like a training job's.
WORKLOAD: Final = "podium.io/workload"

# Annotations on the job: what was submitted (a JSON summary read back by `describe`), and which
# operation created it (MLflow runs carry the same id as the tag `podium.operation_id`).
SETTINGS: Final = "podium.dev/training-settings"
OPERATION: Final = "podium.dev/operation-id"
MODEL_ID: Final = "podium.dev/model-id"
REVISION: Final = "podium.dev/revision"
LOCAL_DIR: Final = "podium.dev/local-dir"
PVC: Final = "podium.dev/pvc"


def common_labels(*, instance: str, component: str) -> dict[str, str]:
    return {
        APP_NAME: "training" if component != DOWNLOAD else "model-download",
        APP_INSTANCE: instance,
        APP_COMPONENT: component,
        APP_PART_OF: PART_OF,
        APP_MANAGED_BY: MANAGED_BY_PODIUM,
    }


def is_managed(obj: dict[str, Any]) -> bool:
    return ((obj.get("metadata") or {}).get("labels") or {}).get(APP_MANAGED_BY) == MANAGED_BY_PODIUM
