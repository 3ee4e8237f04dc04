"""docker-compose.yml without Docker: it parses, every file it names exists, and its ports match the design.

`docker compose config` (the real parser, with the compose spec's validation) runs too when the compose
plugin is installed; machines without it skip that one test and say so.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.manifests import REPO

COMPOSE_FILE = REPO / "docker-compose.yml"
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]


def _default_services() -> set[str]:
    return {name for name, service in SERVICES.items() if "profiles" not in service}


def _profile(name: str) -> set[str]:
    return {service_name for service_name, service in SERVICES.items() if name in service.get("profiles", [])}


def test_the_default_is_the_embedded_cluster_backend_and_dashboard() -> None:
    assert _default_services() == {"sim", "optimizer-backend", "optimizer-dashboard"}
    assert _profile("cluster") == {"backend-cluster", "dashboard-cluster"}


@pytest.mark.parametrize(
    ("services", "ports"),
    [
        (("optimizer-dashboard", "optimizer-backend"), (["3000:8080"], ["8080:8080"])),
        (("dashboard-cluster", "backend-cluster"), (["3000:8080"], ["8080:8080"])),
    ],
)
def test_host_ports_are_the_designs(services: tuple[str, str], ports: tuple[list[str], list[str]]) -> None:
    assert (SERVICES[services[0]]["ports"], SERVICES[services[1]]["ports"]) == ports
    assert "ports" not in SERVICES["sim"]  # the embedded API stays inside the compose network


def test_builds_reference_existing_dockerfiles() -> None:
    for name, service in SERVICES.items():
        build = service["build"]
        context = REPO / build["context"]
        assert (context / build["dockerfile"]).is_file(), name


def test_bind_mounts_reference_existing_files() -> None:
    for service in _default_services():
        for volume in SERVICES[service].get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (REPO / source).is_file(), f"{service}: {source} does not exist"


def test_the_backend_reaches_the_embedded_cluster_through_the_shipped_kubeconfig() -> None:
    backend = SERVICES["optimizer-backend"]
    mount = next(v for v in backend["volumes"] if v.startswith("./deploy/compose/"))
    source, target, mode = mount.split(":")
    assert backend["environment"]["OPTIMIZER_KUBECONFIG"] == target
    assert mode == "ro"
    kubeconfig = yaml.safe_load((REPO / source).read_text())
    assert kubeconfig["clusters"][0]["cluster"]["server"] == "http://sim:6443"
    assert kubeconfig["current-context"] == "kind-k8s-optimizer"
    assert SERVICES["sim"]["command"][:5] == ["sim", "--host", "0.0.0.0", "--port", "6443"]
    assert backend["depends_on"] == {"sim": {"condition": "service_healthy"}}


def test_the_dashboards_proxy_the_backend_of_their_own_set() -> None:
    assert SERVICES["optimizer-dashboard"]["environment"]["BACKEND_URL"] == "http://optimizer-backend:8080"
    assert SERVICES["dashboard-cluster"]["environment"]["BACKEND_URL"] == "http://backend-cluster:8080"


def test_every_container_is_hardened_like_the_kubernetes_pods() -> None:
    for name, service in SERVICES.items():
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        assert service["user"].split(":")[0] in {"10001", "101"}, name
        assert "/tmp" in service["tmpfs"], name


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker is not None:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, check=False)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy is not None else None


def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    command = _compose_command()
    if command is None:
        pytest.skip(
            "neither the docker compose plugin nor docker-compose is installed: `docker compose config` not run"
        )
    result = subprocess.run(
        [*command, "-f", str(COMPOSE_FILE), "--profile", "cluster", "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=REPO,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "KUBECONFIG": str(tmp_path / "kubeconfig")},
    )
    assert result.returncode == 0, result.stderr
