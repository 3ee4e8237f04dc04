"""deploy/kind.mk's cluster targets, run for real against the embedded cluster.

The embedded cluster's kubeconfig context is `kind-k8s-optimizer`, the very context the targets pin, so
`make deploy demo-workloads load-stop load kind-status` exercise the same kubectl commands (apply -k,
rollout status, wait, top) a user runs against kind. kind-up, images and kind-down need Docker and kind:
for those only the missing-tool message is checked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.manifests import REPO
from tests.simcluster import SimCluster

pytestmark = pytest.mark.slow


def _make(*targets: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    return subprocess.run(
        [make, "--no-print-directory", "-C", str(REPO), *targets, "ROLLOUT_TIMEOUT=60s"],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )


@pytest.fixture(scope="module")
def cluster_env() -> Iterator[dict[str, str]]:
    with SimCluster.start(scenario="scale", pods=0, services=0, speed=10.0) as sim:
        yield {**os.environ, "KUBECONFIG": str(sim.kubeconfig)}
    if sim.process.stderr is not None:  # see test_embedded_apply.py
        sim.process.stderr.close()


def test_deploy_and_demo_workloads_roll_out(cluster_env: dict[str, str]) -> None:
    result = _make("deploy", "demo-workloads", env=cluster_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "kubectl --context kind-k8s-optimizer apply -k deploy/base" in result.stdout
    # The API defaults updateStrategy.rollingUpdate.partition to 0, hence kubectl's "partitioned" wording.
    assert "partitioned roll out complete: 2 new pods have been updated..." in result.stdout
    assert 'deployment "optimizer-dashboard" successfully rolled out' in result.stdout
    assert 'deployment "echo-demo" successfully rolled out' in result.stdout


def test_load_stops_and_starts_the_load_generator(cluster_env: dict[str, str]) -> None:
    stop = _make("load-stop", env=cluster_env)
    assert stop.returncode == 0, stop.stderr
    assert 'pod "load-gen" deleted' in stop.stdout
    start = _make("load", env=cluster_env)
    assert start.returncode == 0, start.stderr
    assert "pod/load-gen created" in start.stdout
    assert "pod/load-gen condition met" in start.stdout


def test_kind_status_shows_the_design_verification_output(cluster_env: dict[str, str]) -> None:
    result = _make("kind-status", env=cluster_env)
    assert result.returncode == 0, result.stderr
    for expected in (
        "k8s-optimizer-control-plane",
        "optimizer-backend-0",
        "8080:30081/TCP",
        "80:30080/TCP",
        "echo-demo-hpa",
    ):
        assert expected in result.stdout


def test_targets_that_need_docker_or_kind_say_what_is_missing(tmp_path: Path) -> None:
    # A PATH with make's shell tools but neither kind nor docker.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "sh", "grep", "awk"):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path)}
    for target, tool in (("kind-up", "kind"), ("images", "docker"), ("kind-down", "kind")):
        result = _make(target, env=env)
        assert result.returncode != 0
        assert f"error: '{tool}' is not installed" in result.stderr
