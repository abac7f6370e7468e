"""The in-process runner: independent servers on free ports, kubeconfigs, calls onto the sim's loop."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml
from kubernetes import client, config
from podium_kubesim.resources import RESOURCES
from podium_kubesim.runner import start_kubesim


def test_two_servers_are_independent_and_stop_cleanly(tmp_path: Path) -> None:
    with start_kubesim(controllers=False) as one, start_kubesim(controllers=False) as two:
        assert one.url != two.url
        one.call(
            lambda: one.sim.store.create(
                RESOURCES["configmaps"], "default", {"metadata": {"name": "only-one"}}
            )
        )
        kubeconfig = yaml.safe_load(one.write_kubeconfig(tmp_path / "one.yaml", context="one").read_text())
        assert kubeconfig["current-context"] == "one"
        assert kubeconfig["clusters"][0]["cluster"]["server"] == one.url
        api = config.new_client_from_config(config_file=str(tmp_path / "one.yaml"))
        try:
            names = [
                c.metadata.name for c in client.CoreV1Api(api).list_namespaced_config_map("default").items
            ]
        finally:
            api.close()
        assert names == ["only-one"]
        assert httpx.get(two.url + "/api/v1/namespaces/default/configmaps").json()["items"] == []
        url = one.url
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/healthz")


def test_call_propagates_errors_from_the_loop() -> None:
    with start_kubesim(controllers=False) as ks, pytest.raises(Exception, match="not found"):
        ks.call(lambda: ks.sim.store.get(RESOURCES["pods"], "default", "missing"))
