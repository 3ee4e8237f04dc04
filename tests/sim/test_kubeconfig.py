"""The kubeconfig loads in all three clients and names the kind-style context."""

from __future__ import annotations

import stat
from pathlib import Path

import yaml
from kubernetes import config as sync_config
from kubernetes_asyncio import client as async_client, config as async_config

from k8s_sim.kubeconfig import CONTEXT, client_host, write_kubeconfig


def test_written_kubeconfig_is_private_and_kind_named(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "nested" / "k.yaml", "http://127.0.0.1:40123")
    loaded = yaml.safe_load(path.read_text())
    assert loaded["current-context"] == CONTEXT == "kind-k8s-optimizer"
    assert loaded["clusters"][0]["cluster"] == {"server": "http://127.0.0.1:40123"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_both_python_clients_load_it(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "k.yaml", "http://127.0.0.1:40123")
    sync_client = sync_config.new_client_from_config(config_file=str(path))  # type: ignore[no-untyped-call]
    assert sync_client.configuration.host == "http://127.0.0.1:40123"


async def test_kubernetes_asyncio_loads_it(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "k.yaml", "http://127.0.0.1:40123")
    configuration = async_client.Configuration()
    await async_config.load_kube_config(config_file=str(path), client_configuration=configuration)
    assert configuration.host == "http://127.0.0.1:40123"
    assert configuration.api_key == {"BearerToken": "Bearer k8s-optimizer-sim-token"}


def test_wildcard_listen_addresses_are_dialled_on_loopback() -> None:
    assert [client_host(h) for h in ("0.0.0.0", "::", "", "127.0.0.2")] == ["127.0.0.1"] * 3 + ["127.0.0.2"]
