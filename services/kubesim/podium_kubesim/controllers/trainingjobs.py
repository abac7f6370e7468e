"""PyTorchJob (kubeflow.org/v1) and HyperPodPyTorchJob (sagemaker.amazonaws.com/v1) controllers.

PyTorchJob: `spec.pytorchReplicaSpecs.{Master,Worker}.{replicas,restartPolicy,template}`; pods
`<job>-master-0`, `<job>-worker-<i>` labelled `training.kubeflow.org/{job-name,replica-type,replica-index}`,
a headless Service `<job>-master-0`, status conditions Created/Running/Succeeded/Failed and replicaStatuses.

HyperPodPyTorchJob (shape kept plausible, documented in docs/kubesim.md): `spec.nprocPerNode`,
`spec.replicaSpecs: [{name, replicas, template}]`, `spec.runPolicy`; pods `<job>-<spec name>-<i>` with the
same kubeflow labels plus `sagemaker.amazonaws.com/job-name`; conditions Created/Running/Completed/Failed.
Both inject torchrun's rendezvous env (MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK, PET_NPROC_PER_NODE).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podium_kubesim.controllers.base import Controller, Key
from podium_kubesim.controllers.podutil import Obj, json_clone, meta, now_ts, owner_ref, phase
from podium_kubesim.resources import resource

PODS = resource("pods")
SERVICES = resource("services")
PORT = 23456


@dataclass(frozen=True)
class Flavor:
    key: str  # resource key
    kind: str
    api_version: str
    succeeded_type: str
    reason_prefix: str


PYTORCH = Flavor("pytorchjobs.kubeflow.org", "PyTorchJob", "kubeflow.org/v1", "Succeeded", "PyTorchJob")
HYPERPOD = Flavor(
    "hyperpodpytorchjobs.sagemaker.amazonaws.com",
    "HyperPodPyTorchJob",
    "sagemaker.amazonaws.com/v1",
    "Completed",
    "HyperPodPyTorchJob",
)


@dataclass
class Replica:
    rtype: str  # "Master" / "Worker" / the HyperPod spec name
    index: int
    rank: int
    name: str
    template: Obj
    restart_policy: str


def plan_replicas(flavor: Flavor, job: Obj) -> list[Replica]:
    name = meta(job)["name"]
    spec = job.get("spec") or {}
    out: list[Replica] = []
    if flavor is PYTORCH:
        specs = spec.get("pytorchReplicaSpecs") or {}
        order = sorted(specs, key=lambda t: (t != "Master", t))
        entries = [(t, specs[t]) for t in order]
    else:
        entries = [
            (str(s.get("name") or f"replica{i}"), s) for i, s in enumerate(spec.get("replicaSpecs") or [])
        ]
    rank = 0
    for rtype, rs in entries:
        for i in range(int(rs.get("replicas", 1))):
            # HyperPod replica specs carry no restartPolicy of their own; the pod template's counts.
            template_policy = ((rs.get("template") or {}).get("spec") or {}).get("restartPolicy")
            policy = str(rs.get("restartPolicy") or template_policy or "OnFailure")
            out.append(
                Replica(
                    rtype,
                    i,
                    rank,
                    f"{name}-{rtype.lower()}-{i}",
                    rs.get("template") or {},
                    "Never" if policy == "ExitCode" else policy,
                )
            )
            rank += 1
    return out


def _nproc(job: Obj) -> str:
    spec = job.get("spec") or {}
    return str(spec.get("nprocPerNode") or "auto")


class TrainingJobController(Controller):
    def __init__(self, *args: Any, flavor: Flavor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.flavor = flavor
        self.name = "pytorchjob-controller" if flavor is PYTORCH else "hyperpod-training-operator"
        self.component = self.name

    def on_event(self, kind: str, etype: str, obj: Obj, old: Obj | None) -> None:
        if kind == self.flavor.key:
            self.queue.add((meta(obj).get("namespace"), meta(obj).get("name")))
        elif kind == "pods":
            for ref in meta(obj).get("ownerReferences") or []:
                if ref.get("controller") and ref.get("kind") == self.flavor.kind:
                    self.queue.add((meta(obj).get("namespace"), ref.get("name")))

    def prime(self) -> None:
        for key in list(self.cache.objects[self.flavor.key]):
            self.queue.add(key)

    def reconcile(self, key: Any) -> None:
        job = self.cache.get(self.flavor.key, key)
        if job is None or meta(job).get("deletionTimestamp"):
            return
        replicas = plan_replicas(self.flavor, job)
        conds = {c.get("type"): c for c in (job.get("status") or {}).get("conditions") or []}
        finished = any(
            conds.get(t, {}).get("status") == "True" for t in (self.flavor.succeeded_type, "Failed")
        )
        pods = {meta(p)["name"]: p for p in self.cache.owned_by("pods", meta(job)["uid"])}
        if not finished:
            for r in replicas:
                if r.name not in pods:
                    pods[r.name] = self._create_pod(job, key, r, replicas)
            if self.flavor is PYTORCH and replicas and replicas[0].rtype == "Master":
                self._ensure_service(job, key, replicas[0])
        self._update_status(job, key, replicas, pods)

    def _create_pod(self, job: Obj, key: Key, r: Replica, replicas: list[Replica]) -> Obj:
        template = json_clone(r.template)
        tmeta = template.get("metadata") or {}
        job_name = meta(job)["name"]
        labels = dict(tmeta.get("labels") or {})
        labels.update(
            {
                "training.kubeflow.org/job-name": job_name,
                "training.kubeflow.org/operator-name": self.name,
                "training.kubeflow.org/replica-type": r.rtype.lower(),
                "training.kubeflow.org/replica-index": str(r.index),
            }
        )
        if r.rank == 0:
            labels["training.kubeflow.org/job-role"] = "master"
        if self.flavor is HYPERPOD:
            labels["sagemaker.amazonaws.com/job-name"] = job_name
        spec = template.get("spec") or {}
        spec["restartPolicy"] = r.restart_policy
        env = [
            {"name": "MASTER_ADDR", "value": replicas[0].name},
            {"name": "MASTER_PORT", "value": str(PORT)},
            {"name": "WORLD_SIZE", "value": str(len(replicas))},
            {"name": "RANK", "value": str(r.rank)},
            {"name": "PYTHONUNBUFFERED", "value": "1"},
            {"name": "PET_NNODES", "value": str(len(replicas))},
            {"name": "PET_NODE_RANK", "value": str(r.rank)},
            {"name": "PET_NPROC_PER_NODE", "value": _nproc(job)},
            {"name": "PET_MASTER_ADDR", "value": replicas[0].name},
            {"name": "PET_MASTER_PORT", "value": str(PORT)},
        ]
        for c in spec.get("containers") or []:
            names = {e.get("name") for e in c.get("env") or []}
            c["env"] = list(c.get("env") or []) + [e for e in env if e["name"] not in names]
        pod: Obj = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": r.name,
                "namespace": key[0],
                "labels": labels,
                "ownerReferences": [owner_ref(job, self.flavor.api_version, self.flavor.kind)],
            },
            "spec": spec,
        }
        if tmeta.get("annotations"):
            pod["metadata"]["annotations"] = dict(tmeta["annotations"])
        created = self.store.create(PODS, key[0], pod, manager=self.name)
        self.record(job, "SuccessfulCreatePod", f"Created pod: {r.name}")
        return created

    def _ensure_service(self, job: Obj, key: Key, master: Replica) -> None:
        if self.cache.get("services", (key[0], master.name)) is not None:
            return
        svc = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": master.name,
                "namespace": key[0],
                "labels": {"training.kubeflow.org/job-name": meta(job)["name"]},
                "ownerReferences": [owner_ref(job, self.flavor.api_version, self.flavor.kind)],
            },
            "spec": {
                "clusterIP": "None",
                "selector": {
                    "training.kubeflow.org/job-name": meta(job)["name"],
                    "training.kubeflow.org/replica-type": "master",
                    "training.kubeflow.org/replica-index": "0",
                },
                "ports": [{"name": "pytorchjob-port", "port": PORT, "targetPort": PORT}],
            },
        }
        self.store.create(SERVICES, key[0], svc, manager=self.name)
        self.record(job, "SuccessfulCreateService", f"Created service: {master.name}")

    def _update_status(self, job: Obj, key: Key, replicas: list[Replica], pods: dict[str, Obj]) -> None:
        f = self.flavor
        ns, name = key
        counts: dict[str, dict[str, int]] = {}
        for r in replicas:
            c = counts.setdefault(r.rtype, {"active": 0, "succeeded": 0, "failed": 0})
            p = pods.get(r.name)
            ph = phase(p) if p is not None else "Pending"
            if ph == "Succeeded":
                c["succeeded"] += 1
            elif ph == "Failed":
                c["failed"] += 1
            elif p is not None and ph == "Running":
                c["active"] += 1
        total = len(replicas)
        failed = sum(c["failed"] for c in counts.values())
        running = sum(c["active"] for c in counts.values())
        lead = replicas[0].rtype if replicas else ""
        if f is PYTORCH and lead == "Master":
            lead_count = sum(1 for r in replicas if r.rtype == lead)
            succeeded = counts.get(lead, {}).get("succeeded", 0) == lead_count
        else:
            succeeded = total > 0 and sum(c["succeeded"] for c in counts.values()) == total
        selector_base = (
            f"training.kubeflow.org/job-name={name},training.kubeflow.org/operator-name={self.name}"
        )

        def put(o: Obj) -> None:
            st = o.setdefault("status", {})
            conds: list[Obj] = st.setdefault("conditions", [])
            st["replicaStatuses"] = {
                t: {
                    **{k: v for k, v in c.items() if v},
                    "selector": f"{selector_base},training.kubeflow.org/replica-type={t.lower()}",
                }
                for t, c in counts.items()
            }
            if st.get("completionTime"):
                return  # finished: conditions are final, replica counts still follow the pods
            _set(conds, "Created", "True", f"{f.reason_prefix}Created", f"{f.kind} {name} is created.")
            if failed:
                failed_types = [t for t, c in counts.items() if c["failed"]]
                _set(
                    conds, "Running", "False", f"{f.reason_prefix}Failed", f"{f.kind} {ns}/{name} has failed."
                )
                _set(
                    conds,
                    "Failed",
                    "True",
                    f"{f.reason_prefix}Failed",
                    f"{f.kind} {ns}/{name} has failed because {counts[failed_types[0]]['failed']} "
                    f"{failed_types[0]} replica(s) failed.",
                )
                st["completionTime"] = now_ts()
            elif succeeded:
                _set(
                    conds,
                    "Running",
                    "False",
                    f"{f.reason_prefix}Succeeded",
                    f"{f.kind} {ns}/{name} successfully completed.",
                )
                _set(
                    conds,
                    f.succeeded_type,
                    "True",
                    f"{f.reason_prefix}Succeeded",
                    f"{f.kind} {ns}/{name} successfully completed.",
                )
                st["completionTime"] = now_ts()
            elif total and running == total:
                _set(
                    conds, "Running", "True", f"{f.reason_prefix}Running", f"{f.kind} {ns}/{name} is running."
                )
            if running or failed or succeeded:
                st.setdefault("startTime", now_ts())
            st["lastReconcileTime"] = st.get("lastReconcileTime") or now_ts()

        self.store.mutate(resource(f.key), ns, name, put, subresource="status", manager=self.name)
        after = self.store.peek(resource(f.key), ns, name) or {}
        for ctype in ("Failed", f.succeeded_type):
            if any(
                c.get("type") == ctype and c.get("status") == "True"
                for c in (after.get("status") or {}).get("conditions") or []
            ) and not any(c.get("type") == ctype for c in (job.get("status") or {}).get("conditions") or []):
                self.record(
                    job,
                    f"{f.reason_prefix}{'Failed' if ctype == 'Failed' else 'Succeeded'}",
                    f"{f.kind} {ns}/{name} "
                    f"{'has failed' if ctype == 'Failed' else 'successfully completed'}.",
                    "Warning" if ctype == "Failed" else "Normal",
                )


def _set(conds: list[Obj], ctype: str, status: str, reason: str, message: str) -> None:
    now = now_ts()
    for c in conds:
        if c.get("type") == ctype:
            if c.get("status") != status:
                c["lastTransitionTime"] = now
                c["lastUpdateTime"] = now
            c.update(status=status, reason=reason, message=message)
            return
    conds.append(
        {
            "type": ctype,
            "status": status,
            "reason": reason,
            "message": message,
            "lastUpdateTime": now,
            "lastTransitionTime": now,
        }
    )
