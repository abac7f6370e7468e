"""huggingface_hub's progress lines → the download operation's progress; a Job's conditions → its state."""

from __future__ import annotations

from podium_shared.training.downloads import DownloadProgress, job_state, parse_progress


def test_the_overall_bar_wins_and_carriage_returns_count_as_line_ends() -> None:
    tail = (
        "Downloading 'Qwen/Qwen3-0.6B' to '/models/Qwen/Qwen3-0.6B'\n"
        "Fetching 10 files:   0%|          | 0/10 [00:00<?, ?it/s]\r"
        "Fetching 10 files:  30%|███       | 3/10 [00:05<00:11,  0.60it/s]\n"
        "model.safetensors:  45%|████▌     | 540M/1.20G [00:05<00:06, 98.1MB/s]\n"
    )
    assert parse_progress(tail) == DownloadProgress(30, 3, 10)


def test_a_single_file_bar_never_says_done() -> None:
    assert parse_progress(
        "model.safetensors: 100%|██████████| 1.20G/1.20G [00:12<00:00]"
    ) == DownloadProgress(99)
    assert parse_progress("nothing yet") is None
    assert parse_progress("") is None


def test_job_state() -> None:
    assert job_state({}) == ("Pending", None)
    assert job_state({"status": {"active": 1}}) == ("Running", None)
    done = {"status": {"conditions": [{"type": "Complete", "status": "True", "message": "ok"}]}}
    assert job_state(done) == ("Succeeded", "ok")
    failed = {
        "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}
    }
    assert job_state(failed) == ("Failed", "BackoffLimitExceeded")
