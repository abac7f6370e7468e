"""batch/v1 Job controller: run pods to `completions` with `parallelism`, count failures against backoffLimit.

Simplified: NonIndexed completion mode only (Indexed jobs run as NonIndexed), no pod-failure policy, no
activeDeadlineSeconds, replacement pods are created without the exponential back-off delay.
"""

from __future__ import annotations

from typing import Any

from podium_kubesim.controllers.base import Controller, Key
from podium_kubesim.controllers.podutil import (
    Obj,
    is_ready,
    is_terminal,
    is_terminating,
    meta,
    now_ts,
    phase,
    pod_from_template,
)
from podium_kubesim.errors import ApiError
from podium_kubesim.resources import resource

PODS = resource("pods")
JOBS = resource("jobs.batch")


def finished_condition(job: Obj) -> str | None:
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return str(c["type"])
    return None


def _cond(ctype: str, reason: str, message: str) -> Obj:
    now = now_ts()
    return {
        "type": ctype,
        "status": "True",
        "reason": reason,
        "message": message,
        "lastProbeTime": now,
        "lastTransitionTime": now,
    }


class JobController(Controller):
    name = "job-controller"
    component = "job-controller"

    def on_event(self, kind: str, etype: str, obj: Obj, old: Obj | None) -> None:
        if kind == "jobs.batch":
            self.queue.add((meta(obj).get("namespace"), meta(obj).get("name")))
        elif kind == "pods":
            for ref in meta(obj).get("ownerReferences") or []:
                if ref.get("controller") and ref.get("kind") == "Job":
                    self.queue.add((meta(obj).get("namespace"), ref.get("name")))

    def prime(self) -> None:
        for key in list(self.cache.objects["jobs.batch"]):
            self.queue.add(key)

    def reconcile(self, key: Any) -> None:
        job = self.cache.get("jobs.batch", key)
        if job is None or meta(job).get("deletionTimestamp"):
            return
        spec = job.get("spec") or {}
        pods = self.cache.owned_by("pods", meta(job)["uid"])
        active = [p for p in pods if not is_terminal(p) and not is_terminating(p)]
        succeeded = sum(1 for p in pods if phase(p) == "Succeeded")
        failed = sum(1 for p in pods if phase(p) == "Failed")
        done = finished_condition(job)
        completions = spec.get("completions")
        target = int(completions) if completions is not None else 1
        parallelism = int(spec.get("parallelism", 1))
        backoff_limit = int(spec.get("backoffLimit", 6))
        new_conditions: list[Obj] = []
        if done is None and not spec.get("suspend"):
            if failed > backoff_limit:
                for p in active:
                    self.store.delete(PODS, key[0], meta(p)["name"], manager=self.name)
                    self.record(job, "SuccessfulDelete", f"Deleted pod: {meta(p)['name']}")
                msg = "Job has reached the specified backoff limit"
                new_conditions = [
                    _cond("FailureTarget", "BackoffLimitExceeded", msg),
                    _cond("Failed", "BackoffLimitExceeded", msg),
                ]
                self.record(job, "BackoffLimitExceeded", msg, "Warning")
                active = []
            elif succeeded >= target and not active:
                msg = "Reached expected number of succeeded pods"
                new_conditions = [
                    _cond("SuccessCriteriaMet", "CompletionsReached", msg),
                    _cond("Complete", "CompletionsReached", msg),
                ]
                self.record(job, "Completed", "Job completed")
            else:
                want = max(0, min(parallelism, target - succeeded))
                for _ in range(want - len(active)):
                    active.append(self._create_pod(job, key))
        self._update_status(
            job, key, active, succeeded=succeeded, failed=failed, new_conditions=new_conditions
        )

    def _create_pod(self, job: Obj, key: Key) -> Obj:
        pod = pod_from_template(
            job, "batch/v1", "Job", namespace=key[0], base=f"{key[1]}-",
            taken=lambda n: self.cache.get("pods", (key[0], n)) is not None,
        )  # fmt: skip
        name = pod["metadata"]["name"]
        try:
            created = self.store.create(PODS, key[0], pod, manager=self.name)
        except ApiError as exc:
            self.record(job, "FailedCreate", f"Error creating: {exc.message}", "Warning")
            raise
        self.record(job, "SuccessfulCreate", f"Created pod: {name}")
        return created

    def _update_status(
        self, job: Obj, key: Key, active: list[Obj], *, succeeded: int, failed: int, new_conditions: list[Obj]
    ) -> None:
        ready = sum(1 for p in active if is_ready(p))
        terminating = sum(1 for p in self.cache.owned_by("pods", meta(job)["uid"]) if is_terminating(p))

        def put(o: Obj) -> None:
            st = o.setdefault("status", {})
            st.setdefault("startTime", now_ts())
            for field, value in (("active", len(active)), ("succeeded", succeeded), ("failed", failed)):
                if value:
                    st[field] = value
                else:
                    st.pop(field, None)
            st["ready"] = ready
            st["terminating"] = terminating
            st.setdefault("uncountedTerminatedPods", {})
            if new_conditions:
                st["conditions"] = list(st.get("conditions") or []) + new_conditions
                if any(c["type"] == "Complete" for c in new_conditions):
                    st["completionTime"] = now_ts()

        self.store.mutate(JOBS, key[0], key[1], put, subresource="status", manager=self.name)
