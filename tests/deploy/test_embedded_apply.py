"""`kubectl apply` of the rendered base + demo into the embedded cluster, as a user would into kind.

The embedded cluster speaks the real API, so this exercises kubectl's own create and three-way-merge
paths with our exact manifests: the first apply creates every object, a second one changes nothing.
Then the backend, pointed at that cluster through a kubeconfig, lists what was applied.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

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
    assert len(expected) == 21


def test_applied_objects_read_back_with_the_last_applied_annotation(
    applied: tuple[SimCluster, Path], first_apply: str
) -> None:
    sim, _ = applied
    for manifest in render("base") + render("demo"):
        if manifest["kind"] in {"Namespace", "ClusterRole", "ClusterRoleBinding"}:
            args = [manifest["kind"].lower(), manifest["metadata"]["name"]]
        else:
            args = ["-n", "k8s-optimizer", _resource(manifest).split("/")[0], manifest["metadata"]["name"]]
        result = sim.kubectl("get", *args, "-o", "json")
        assert result.returncode == 0, f"{name_of(manifest)}: {result.stderr}"
        live = json.loads(result.stdout)
        assert "kubectl.kubernetes.io/last-applied-configuration" in live["metadata"]["annotations"]


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
