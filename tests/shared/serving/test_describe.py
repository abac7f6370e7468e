from podium_shared.serving.describe import describe_deployment
from podium_shared.serving.manifests import build_business_service, build_deployment, build_service
from podium_shared.serving.schemas import DeployModelParams
from podium_shared.serving.spec import resolve


def test_standard_deployment_with_its_service() -> None:
    spec = resolve(
        DeployModelParams.model_validate({"command_line": "vllm serve Qwen/Qwen3-0.6B"}), has_token=False
    )
    dep = build_deployment(spec)
    dep["status"] = {"readyReplicas": 1}
    svc = build_service(spec)
    svc["status"] = {"loadBalancer": {"ingress": [{"hostname": "lb.example"}]}}
    d = describe_deployment(dep, [svc])
    assert d["type"] == "standard"
    assert d["engine"] == "vllm"
    assert d["model"] == "Qwen/Qwen3-0.6B"
    assert (d["replicas"], d["ready"]) == (1, 1)
    assert d["endpoints"] == [
        {
            "service": spec.name,
            "business": None,
            "type": "LoadBalancer",
            "scheme": "internal",
            "address": "lb.example",
            "port": 8000,
        }
    ]


def test_pool_lists_business_services() -> None:
    spec = resolve(
        DeployModelParams.model_validate({"engine": "sglang", "model": "a/b", "pool": True}), has_token=False
    )
    svc = build_business_service(
        namespace="default",
        pool=spec.name,
        model_tag=spec.tag,
        model_id="a/b",
        business="prod",
        scheme="internet-facing",
    )
    d = describe_deployment(build_deployment(spec), [svc])
    assert d["type"] == "pool"
    assert d["endpoints"][0]["business"] == "prod"
    assert d["ready"] == 0


def test_foreign_deployment() -> None:
    d = describe_deployment(
        {
            "metadata": {"name": "web"},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"image": "nginx"}]}}},
        }
    )
    assert d["type"] is None
    assert d["engine"] is None
    assert d["managed_by_podium"] is False
