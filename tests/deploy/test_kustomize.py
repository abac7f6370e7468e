"""deploy/ cannot run here (no container engine), so it is kept correct by rendering it with the real
kubectl, checking every object against the rules Podium holds itself to, and applying it to kubesim."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from podium_kubesim.runner import RunningKubeSim, start_kubesim
from podium_shared.kube.resources import known_kinds, resource_type

pytestmark = pytest.mark.kubectl

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = ["deploy/base", "deploy/overlays/eks"]
WORKLOADS = {"Deployment", "Job"}


def render(overlay: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        ["kubectl", "kustomize", str(ROOT / overlay)], check=True, capture_output=True, text=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, render(request.param)


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = obj["spec"]["template"]["spec"]
    return spec


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(obj)
    return [*spec.get("initContainers", []), *spec["containers"]]


def test_every_object_is_well_formed(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, objs = rendered
    seen = set()
    for obj in objs:
        assert obj.get("apiVersion"), obj
        assert obj.get("kind"), obj
        meta = obj.get("metadata") or {}
        assert meta.get("name"), obj
        assert meta.get("labels", {}).get("app.kubernetes.io/part-of") == "podium", meta
        key = (obj["kind"], meta.get("namespace"), meta["name"])
        assert key not in seen, f"duplicate {key}"
        seen.add(key)
        if obj["kind"] not in {"Namespace", "ClusterRole", "ClusterRoleBinding"}:
            assert meta.get("namespace") == "podium", key
    kinds = {obj["kind"] for obj in objs}
    assert {"Namespace", "ConfigMap", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Service",
            "Deployment", "Job"} <= kinds  # fmt: skip


def test_the_components_are_all_there(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, objs = rendered
    deployments = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Deployment"}
    assert deployments["podium-api"]["spec"]["replicas"] == 2
    assert deployments["podium-worker"]["spec"]["replicas"] == 2
    assert deployments["podium-watcher"]["spec"]["replicas"] == 2
    # Celery beat must run exactly once, and never two during a rollout.
    assert deployments["podium-sweeper"]["spec"]["replicas"] == 1
    assert deployments["podium-sweeper"]["spec"]["strategy"]["type"] == "Recreate"
    job = next(o for o in objs if o["kind"] == "Job")
    assert [c["args"] for c in pod_spec(job)["initContainers"]] == [["db", "upgrade"]]
    api_probes = pod_spec(deployments["podium-api"])["containers"][0]
    assert api_probes["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api_probes["livenessProbe"]["httpGet"]["path"] == "/healthz"
    service = next(o for o in objs if o["kind"] == "Service")
    assert service["spec"]["selector"] == deployments["podium-api"]["spec"]["template"]["metadata"]["labels"]


def test_workloads_are_pinned_probed_bounded_and_unprivileged(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    _, objs = rendered
    for obj in (o for o in objs if o["kind"] in WORKLOADS):
        name = obj["metadata"]["name"]
        spec = pod_spec(obj)
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] != 0, name
        for c in containers(obj):
            where = f"{name}/{c['name']}"
            image = c["image"]
            assert ":" in image.rsplit("/", 1)[-1], f"{where}: untagged image {image}"
            assert not image.endswith(":latest"), f"{where}: {image}"
            assert c["resources"]["requests"], where
            assert c["resources"]["limits"], where
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["capabilities"]["drop"] == ["ALL"], where
            for env in c.get("env", []):
                # Secrets come from the Secret, never as literal values in a manifest.
                if any(word in env["name"] for word in ("URL", "SECRET", "TOKEN", "PASSWORD")):
                    assert "valueFrom" in env, f"{where}: {env['name']}"
                    assert "value" not in env, f"{where}: {env['name']}"
            if obj["kind"] == "Deployment":
                for probe in ("readinessProbe", "livenessProbe"):
                    assert probe in c, f"{where} lacks {probe}"


def secret_key_of(container: dict[str, Any], name: str) -> str | None:
    for env in container.get("env", []):
        if env["name"] == name:
            key: str = env["valueFrom"]["secretKeyRef"]["key"]
            return key
    return None


def test_only_the_migration_job_connects_as_the_table_owner(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    # Migration 0003 leaves `podium_app` unable to rewrite audit_events; that only holds if nothing but
    # the migration Job ever sees the owner's credentials.
    _, objs = rendered
    job = next(o for o in objs if o["kind"] == "Job" and o["metadata"]["name"] == "podium-migrate")
    for c in containers(job):
        assert secret_key_of(c, "DATABASE_URL") == "migration-database-url", c["name"]
    deployments = [o for o in objs if o["kind"] == "Deployment"]
    assert {d["metadata"]["name"] for d in deployments} >= {"podium-api", "podium-worker", "podium-sweeper",
                                                            "podium-watcher"}  # fmt: skip
    for obj in (o for o in objs if o["kind"] in WORKLOADS and o is not job):
        for c in containers(obj):
            where = f"{obj['metadata']['name']}/{c['name']}"
            assert secret_key_of(c, "DATABASE_URL") == "database-url", where
            assert "migration-database-url" not in yaml.safe_dump(c), where


def test_example_secret_documents_both_database_identities() -> None:
    secret = yaml.safe_load((ROOT / "deploy/base/secret.example.yaml").read_text())
    data = secret["stringData"]
    assert data["database-url"].startswith("postgresql+psycopg://podium_app:")
    owner = data["migration-database-url"]
    assert owner.startswith("postgresql+psycopg://")
    assert "podium_app" not in owner
    # Every key a workload reads is in the example, so the documented shape is complete.
    used = {env["valueFrom"]["secretKeyRef"]["key"]
            for obj in render("deploy/base") if obj["kind"] in WORKLOADS
            for c in containers(obj) for env in c.get("env", [])
            if "secretKeyRef" in env.get("valueFrom", {})}  # fmt: skip
    assert used == set(data)


def test_rbac_is_least_privilege(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, objs = rendered
    roles = {o["metadata"]["name"]: o for o in objs if o["kind"] in {"ClusterRole", "Role"}}
    for name, role in roles.items():
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule.get(field, []), f"{name}: wildcard in {field}"
            assert not {"escalate", "bind", "impersonate"} & set(rule["verbs"]), name
    api_rules = roles["podium-api"]["rules"]
    assert [(r["resources"], r["verbs"]) for r in api_rules] == [(["services/proxy"], ["get", "create"])]
    watcher_verbs = {v for r in roles["podium-watcher"]["rules"] for v in r["verbs"]}
    assert watcher_verbs <= {"get", "list", "watch"}
    worker = {(g, res): set(r["verbs"]) for r in roles["podium-worker"]["rules"]
              for g in r["apiGroups"] for res in r["resources"]}  # fmt: skip
    assert {"patch", "update"} <= worker[("apps", "deployments/scale")]
    assert "delete" in worker[("", "pods")]
    # Every kind the generic commands address is covered, at least for get and patch (label/annotate).
    for kind in map(resource_type, known_kinds()):
        assert {"get", "patch"} <= worker.get((kind.group, kind.plural), set()), kind.kind
    # Namespaces and nodes can be labelled, never deleted through Podium.
    assert "delete" not in worker[("", "namespaces")]
    assert "delete" not in worker[("", "nodes")]
    # The worker writes the Secrets it creates but can never list (read) every Secret in the cluster.
    assert "list" not in worker[("", "secrets")]
    assert "watch" not in worker[("", "secrets")]
    # Every binding points at a role that exists and at a ServiceAccount that exists.
    accounts = {o["metadata"]["name"] for o in objs if o["kind"] == "ServiceAccount"}
    for binding in (o for o in objs if o["kind"] in {"ClusterRoleBinding", "RoleBinding"}):
        assert binding["roleRef"]["name"] in roles
        for subject in binding["subjects"]:
            assert subject["kind"] == "ServiceAccount"
            assert subject["name"] in accounts
            assert subject["namespace"] == "podium"
    used = {pod_spec(o)["serviceAccountName"] for o in objs if o["kind"] in WORKLOADS}
    assert used <= accounts


def test_eks_overlay_adds_irsa_to_the_worker_only() -> None:
    objs = render("deploy/overlays/eks")
    accounts = {o["metadata"]["name"]: o for o in objs if o["kind"] == "ServiceAccount"}
    annotations = accounts["podium-worker"]["metadata"]["annotations"]
    assert annotations["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam::")
    for name, sa in accounts.items():
        if name != "podium-worker":
            assert "eks.amazonaws.com/role-arn" not in (sa["metadata"].get("annotations") or {})
    images = {c["image"] for o in objs if o["kind"] in WORKLOADS for c in containers(o)}
    assert all(".dkr.ecr." in image for image in images), images


@pytest.fixture
def kubesim() -> Iterator[RunningKubeSim]:
    # A cluster per overlay: a Job's pod template is immutable, so the EKS overlay (another image)
    # cannot be applied over the base's Job, exactly as on a real cluster.
    with start_kubesim(speed=20.0) as running:
        yield running


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rendered_manifests_apply_to_a_cluster(overlay: str, kubesim: RunningKubeSim, tmp_path: Path) -> None:
    kubeconfig = kubesim.write_kubeconfig(tmp_path / "kubeconfig")
    env = {"KUBECONFIG": str(kubeconfig), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    manifests = subprocess.run(
        ["kubectl", "kustomize", str(ROOT / overlay)], check=True, capture_output=True, text=True
    ).stdout
    applied = subprocess.run(
        ["kubectl", "apply", "--server-side", "--field-manager", "podium-deploy-test", "-f", "-"],
        check=False, input=manifests, capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.count("serverside-applied") == len(render(overlay))
    # The objects are really there, as the cluster reports them back.
    got = subprocess.run(
        ["kubectl", "get", "deployments,jobs,services,serviceaccounts", "-n", "podium", "-o", "name"],
        check=True, capture_output=True, text=True, env=env, timeout=30,
    ).stdout.split()  # fmt: skip
    assert "deployment.apps/podium-api" in got
    assert "job.batch/podium-migrate" in got
    assert "serviceaccount/podium-worker" in got
