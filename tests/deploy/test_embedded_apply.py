"""`kubectl apply` of the rendered base + demo into the embedded cluster, as a user would into kind.

The embedded cluster speaks the real API, so this exercises kubectl's own create and three-way-merge
paths with our exact manifests: the first apply creates every object, a second one changes nothing.
Then the backend, pointed at that cluster through a kubeconfig, lists what was applied.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from k8s_optimizer.app import create_app
from k8s_optimizer.settings import Settings
from tests.deploy.manifests import name_of, render, render_text
from tests.simcluster import SimCluster

pytestmark = pytest.mark.slow


def _resource(manifest: dict[str, object]) -> str:
    """kubectl's `resource/name` spelling in apply output (lowercase kind, group-qualified outside core)."""
    api_version = str(manifest["apiVersion"])
    kind = str(manifest["kind"]).lower()
    group = api_version.split("/")[0] if "/" in api_version else ""
    metadata = manifest["metadata"]
    assert isinstance(metadata, dict)
    return f"{kind}.{group}/{metadata['name']}" if group else f"{kind}/{metadata['name']}"


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SimCluster, Path]]:
    # The `scale` scenario with no pods or services is the emptiest cluster: nodes, no k8s-optimizer objects.
    bundle = tmp_path_factory.mktemp("deploy") / "rendered.yaml"
    bundle.write_text(render_text("base") + "---\n" + render_text("demo"))
    with SimCluster.start(scenario="scale", pods=0, services=0) as sim:
        yield sim, bundle
    # SimCluster.stop() closes stdout but leaves the stderr pipe to the garbage collector, which
    # filterwarnings=error turns into a ResourceWarning failure.
    if sim.process.stderr is not None:
        sim.process.stderr.close()


@pytest.fixture(scope="module")
def first_apply(applied: tuple[SimCluster, Path]) -> str:
    sim, bundle = applied
    result = sim.kubectl("apply", "-f", str(bundle), timeout_seconds=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_first_apply_creates_every_object(first_apply: str) -> None:
    lines = set(first_apply.splitlines())
    expected = {f"{_resource(m)} created" for m in render("base") + render("demo")}
    # The namespace may pre-exist in a scenario; everything else is new.
    expected.discard("namespace/k8s-optimizer created")
    assert expected <= lines
    assert len(expected) == 26  # + the three egress policies, the kube-proxy ConfigMap reader and its binding


def test_applied_objects_read_back_with_the_last_applied_annotation(
    applied: tuple[SimCluster, Path], first_apply: str
) -> None:
    sim, bundle = applied
    result = sim.kubectl("get", "-f", str(bundle), "-o", "json", timeout_seconds=60)
    assert result.returncode == 0, result.stderr
    items = json.loads(result.stdout)["items"]
    assert sorted(f"{i['kind']}/{i['metadata']['name']}" for i in items) == sorted(
        name_of(m) for m in render("base") + render("demo")
    )
    for item in items:
        assert "kubectl.kubernetes.io/last-applied-configuration" in item["metadata"]["annotations"]


def test_a_second_apply_changes_nothing(applied: tuple[SimCluster, Path], first_apply: str) -> None:
    sim, bundle = applied
    result = sim.kubectl("apply", "-f", str(bundle), timeout_seconds=60)
    assert result.returncode == 0, result.stderr
    verbs = dict(line.rsplit(" ", 1) for line in result.stdout.splitlines())
    # kubectl always re-sends a PDB's selector (its patch strategy is `replace`), so PDBs report
    # "configured" on a real API server too; the patch is a no-op, which the generation shows.
    pdbs = {_resource(m) for m in render("base") + render("demo") if m["kind"] == "PodDisruptionBudget"}
    assert {name for name, verb in verbs.items() if verb != "unchanged"} <= pdbs
    for pdb in pdbs:
        live = json.loads(sim.kubectl("get", "-n", "k8s-optimizer", pdb, "-o", "json").stdout)
        assert live["metadata"]["generation"] == 1


def test_a_server_side_dry_run_of_the_apply_overlay_is_accepted(
    applied: tuple[SimCluster, Path], first_apply: str, tmp_path: Path
) -> None:
    sim, _ = applied
    overlay = tmp_path / "apply.yaml"
    overlay.write_text(render_text("overlays/apply"))
    result = sim.kubectl("apply", "--dry-run=server", "-f", str(overlay), timeout_seconds=60)
    assert result.returncode == 0, result.stderr
    assert "clusterrole.rbac.authorization.k8s.io/optimizer-applier created (server dry run)" in result.stdout
    assert result.stdout.count("rolebinding.rbac.authorization.k8s.io/optimizer-applier created (server dry run)") == 2


def test_the_compose_healthcheck_url_of_the_embedded_cluster_answers(applied: tuple[SimCluster, Path]) -> None:
    sim, _ = applied
    with urllib.request.urlopen(f"{sim.url}/version", timeout=10) as response:
        assert response.status == 200
        assert json.loads(response.read())["major"] == "1"


def test_the_backend_lists_what_was_applied(applied: tuple[SimCluster, Path], first_apply: str, tmp_path: Path) -> None:
    sim, _ = applied
    settings = Settings(kubeconfig=sim.kubeconfig, data_dir=tmp_path, metrics_interval_seconds=1.0)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        _eventually(lambda: client.get("/ready").status_code == 200, "the backend is ready")
        workloads = client.get("/api/v1/workloads", params={"namespace": "k8s-optimizer"}).json()["items"]
        services = client.get("/api/v1/services", params={"namespace": "k8s-optimizer"}).json()["items"]
        hpas = client.get("/api/v1/hpa", params={"namespace": "k8s-optimizer"}).json()["items"]
    assert sorted((w["kind"], w["name"]) for w in workloads) == [
        ("Deployment", "echo-demo"),
        ("Deployment", "high-cpu-app"),
        ("Deployment", "memory-intensive-app"),
        ("Deployment", "optimizer-dashboard"),
        ("StatefulSet", "optimizer-backend"),
    ]
    assert sorted((s["name"], s["type"]) for s in services) == [
        ("echo-demo", "ClusterIP"),
        ("optimizer-backend", "NodePort"),
        ("optimizer-backend-headless", "ClusterIP"),
        ("optimizer-dashboard", "NodePort"),
    ]
    assert [h["name"] for h in hpas] == ["echo-demo-hpa"]


def _replicas(sim: SimCluster) -> tuple[int, int]:
    """(the HPA's desired replicas, the Deployment's spec.replicas) as kubectl reads them."""
    hpa = json.loads(sim.kubectl("-n", "k8s-optimizer", "get", "hpa", "echo-demo-hpa", "-o", "json").stdout)
    deployment = json.loads(sim.kubectl("-n", "k8s-optimizer", "get", "deploy", "echo-demo", "-o", "json").stdout)
    return int(hpa["status"].get("desiredReplicas", 0)), int(deployment["spec"]["replicas"])


def test_the_echo_demo_hpa_scales_up_under_load_and_back_to_its_minimum(
    applied: tuple[SimCluster, Path], first_apply: str
) -> None:
    sim, _ = applied
    sim.advance(60)
    # No `replicas` in the manifest: the API defaults it to 1 and the HPA raises it to minReplicas.
    assert _replicas(sim) == (2, 2)
    # ~200 req/s at the model's default 1 millicore per request: ~4x the 2 × 25m the HPA aims for.
    sim.set_load("k8s-optimizer", "echo-demo", enabled=True, rps=200)
    for _ in range(4):
        sim.advance(60)
    desired, replicas = _replicas(sim)
    assert 2 < desired <= 10
    assert replicas == desired
    sim.set_load("k8s-optimizer", "echo-demo", enabled=False)
    # Scale-down waits out the 300 s stabilization window, then drops to minReplicas (never below).
    sim.advance(400)
    sim.advance(300)
    assert _replicas(sim) == (2, 2)


def _eventually(predicate: Callable[[], bool], what: str, timeout_seconds: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout_seconds}s")
        time.sleep(0.1)
