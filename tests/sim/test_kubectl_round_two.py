"""Everyday kubectl against a `k8s-optimizer sim` process: the verbs and kinds of issue 17's "Done when".

Each test works in its own namespace of the shared demo cluster.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from tests.simcluster import SimCluster


def _ok(sim: SimCluster, *args: str, stdin: str | None = None) -> str:
    done = sim.kubectl(*args, stdin=stdin)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _json(sim: SimCluster, *args: str) -> Any:
    return json.loads(_ok(sim, *args, "-o", "json"))


def _eventually(check: Any, timeout_seconds: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.25)


def test_kubectl_logs_show_the_echo_servers_access_lines(sim: SimCluster) -> None:
    pods = _json(sim, "get", "pods", "-n", "k8s-optimizer", "-l", "app=echo-demo")["items"]
    load_gen_ip = _json(sim, "get", "pod", "load-gen", "-n", "k8s-optimizer")["status"]["podIP"]
    name = pods[0]["metadata"]["name"]
    lines = _ok(sim, "logs", "-n", "k8s-optimizer", name, "--tail=5", "--timestamps").splitlines()
    assert len(lines) == 5
    pattern = re.compile(
        r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z "
        + re.escape(load_gen_ip)
        + r' - - \[[^\]]+\] "GET / HTTP/1\.1" 200 \d+ "-" "Wget"$'
    )
    assert all(pattern.match(line) for line in lines), lines
    by_deployment = _ok(sim, "logs", "-n", "k8s-optimizer", "deploy/echo-demo", "--tail=1")
    assert by_deployment.startswith(load_gen_ip)
    previous = sim.kubectl("logs", "-n", "k8s-optimizer", name, "--previous")
    assert previous.returncode == 1
    assert f'previous terminated container "echo" in pod "{name}" not found' in previous.stderr
    by_label = _ok(sim, "logs", "-n", "k8s-optimizer", "-l", "app=echo-demo", "--tail=1", "--prefix")
    assert sorted(line.split("]")[0] for line in by_label.splitlines()) == sorted(
        f"[pod/{p['metadata']['name']}/echo" for p in pods
    )


def test_exec_and_port_forward_say_plainly_that_no_container_runs(sim: SimCluster) -> None:
    done = sim.kubectl("exec", "-n", "k8s-optimizer", "load-gen", "--", "ls")
    assert done.returncode == 1
    assert "exec is not supported for pod load-gen: the embedded cluster (k8s-optimizer sim) runs no containers" in (
        done.stderr
    )
    forward = sim.kubectl("port-forward", "-n", "k8s-optimizer", "pod/load-gen", "18080:8080", timeout_seconds=15)
    assert "port-forward is not supported for pod load-gen" in forward.stderr


def test_create_secret_and_read_it_back(sim: SimCluster) -> None:
    _ok(sim, "create", "namespace", "k2-secret")
    created = _ok(sim, "create", "secret", "generic", "db", "-n", "k2-secret", "--from-literal=password=s3cret")
    assert created.strip() == "secret/db created"
    secret = _json(sim, "get", "secret", "db", "-n", "k2-secret")
    assert (secret["type"], secret["data"]) == ("Opaque", {"password": "czNjcmV0"})
    table = _ok(sim, "get", "secrets", "-n", "k2-secret").splitlines()
    assert table[0].split() == ["NAME", "TYPE", "DATA", "AGE"]
    assert table[1].split()[:3] == ["db", "Opaque", "1"]


def test_create_job_runs_to_completion(sim: SimCluster) -> None:
    _ok(sim, "create", "namespace", "k2-job")
    assert _ok(sim, "create", "job", "hello", "-n", "k2-job", "--image=busybox:1.36", "--", "echo", "hi").strip() == (
        "job.batch/hello created"
    )
    waited = sim.kubectl(
        "wait", "-n", "k2-job", "--for=condition=complete", "job/hello", "--timeout=30s", timeout_seconds=40
    )
    assert waited.returncode == 0, waited.stderr
    job = _json(sim, "get", "job", "hello", "-n", "k2-job")
    assert (job["status"]["succeeded"], job["spec"]["template"]["spec"]["restartPolicy"]) == (1, "Never")
    pods = _json(sim, "get", "pods", "-n", "k2-job", "-l", "job-name=hello")["items"]
    assert [p["status"]["phase"] for p in pods] == ["Succeeded"]
    row = _ok(sim, "get", "jobs", "-n", "k2-job").splitlines()[1].split()
    assert row[:3] == ["hello", "Complete", "1/1"]


def test_autoscale_creates_an_hpa_served_in_both_versions(sim: SimCluster) -> None:
    _ok(sim, "create", "namespace", "k2-hpa")
    _ok(sim, "create", "deployment", "php-apache", "-n", "k2-hpa", "--image=registry.k8s.io/hpa-example")
    assert _ok(
        sim, "autoscale", "deployment", "php-apache", "-n", "k2-hpa", "--cpu-percent=50", "--min=1", "--max=10"
    ).strip() == ("horizontalpodautoscaler.autoscaling/php-apache autoscaled")
    v2 = _json(sim, "get", "horizontalpodautoscalers.v2.autoscaling", "php-apache", "-n", "k2-hpa")
    assert v2["spec"]["metrics"] == [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}
    ]
    v1 = _json(sim, "get", "horizontalpodautoscalers.v1.autoscaling", "php-apache", "-n", "k2-hpa")
    assert (v1["apiVersion"], v1["spec"]["targetCPUUtilizationPercentage"], v1["spec"]["maxReplicas"]) == (
        "autoscaling/v1",
        50,
        10,
    )


def test_rollout_undo_after_rollout_restart(sim: SimCluster) -> None:
    _ok(sim, "create", "namespace", "k2-rollout")
    _ok(sim, "create", "deployment", "web", "-n", "k2-rollout", "--image=nginx:1.27", "--replicas=2")
    _ok(sim, "rollout", "status", "deployment/web", "-n", "k2-rollout", "--timeout=30s")
    _ok(sim, "rollout", "restart", "deployment/web", "-n", "k2-rollout")
    _ok(sim, "rollout", "status", "deployment/web", "-n", "k2-rollout", "--timeout=30s")
    history = _ok(sim, "rollout", "history", "deployment/web", "-n", "k2-rollout")
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["1", "2"]
    assert (
        _ok(sim, "rollout", "undo", "deployment/web", "-n", "k2-rollout").strip() == "deployment.apps/web rolled back"
    )
    _ok(sim, "rollout", "status", "deployment/web", "-n", "k2-rollout", "--timeout=30s")
    deploy = _json(sim, "get", "deployment", "web", "-n", "k2-rollout")
    assert deploy["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert "kubectl.kubernetes.io/restartedAt" not in (deploy["spec"]["template"]["metadata"].get("annotations") or {})
    history = _ok(sim, "rollout", "history", "deployment/web", "-n", "k2-rollout")
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["2", "3"]


SSA = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: ssa, namespace: k2-ssa}
spec:
  replicas: REPLICAS
  selector: {matchLabels: {app: ssa}}
  template:
    metadata: {labels: {app: ssa}}
    spec:
      containers: [{name: web, image: "nginx:1.27"}]
"""


def test_apply_server_side_with_ownership_conflicts_and_force(sim: SimCluster, tmp_path: Path) -> None:
    _ok(sim, "create", "namespace", "k2-ssa")
    manifest = tmp_path / "ssa.yaml"
    manifest.write_text(SSA.replace("REPLICAS", "2"))
    assert _ok(sim, "apply", "--server-side", "-f", str(manifest)).strip() == "deployment.apps/ssa serverside-applied"
    deploy = _json(sim, "get", "deployment", "ssa", "-n", "k2-ssa", "--show-managed-fields")
    entry = deploy["metadata"]["managedFields"][0]
    assert (entry["manager"], entry["operation"]) == ("kubectl", "Apply")
    assert entry["fieldsV1"]["f:spec"]["f:replicas"] == {}
    manifest.write_text(SSA.replace("REPLICAS", "3"))
    conflict = sim.kubectl("apply", "--server-side", "--field-manager=ci", "-f", str(manifest))
    assert conflict.returncode == 1
    assert 'Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas' in conflict.stderr
    forced = _ok(sim, "apply", "--server-side", "--field-manager=ci", "--force-conflicts", "-f", str(manifest))
    assert forced.strip() == "deployment.apps/ssa serverside-applied"
    deploy = _json(sim, "get", "deployment", "ssa", "-n", "k2-ssa", "--show-managed-fields")
    owners = {e["manager"]: e["fieldsV1"].get("f:spec", {}) for e in deploy["metadata"]["managedFields"]}
    assert deploy["spec"]["replicas"] == 3
    assert "f:replicas" in owners["ci"]
    assert "f:replicas" not in owners["kubectl"]


def test_explain_reads_the_served_schemas(sim: SimCluster) -> None:
    explained = _ok(sim, "explain", "pod.spec")
    assert explained.splitlines()[:4] == ["KIND:       Pod", "VERSION:    v1", "", "FIELD: spec <PodSpec>"]
    assert "  containers\t<[]Container> -required-" in explained
    field = _ok(sim, "explain", "deployment.spec.replicas")
    assert "FIELD: replicas <integer>" in field


def test_auth_can_i_whoami_and_the_servers_metrics(sim: SimCluster) -> None:
    assert _ok(sim, "auth", "can-i", "create", "deployments", "-n", "default").strip() == "yes"
    assert _ok(sim, "auth", "can-i", "delete", "nodes").strip() == "yes"
    who = _ok(sim, "auth", "whoami", "-o", "json")
    assert json.loads(who)["status"]["userInfo"] == {
        "username": "kubernetes-admin",
        "groups": ["kubeadm:cluster-admins", "system:authenticated"],
    }
    metrics = _ok(sim, "get", "--raw", "/metrics")
    assert "# TYPE apiserver_request_total counter" in metrics
    assert re.search(r'^apiserver_storage_objects\{resource="pods"\} \d+$', metrics, re.MULTILINE)


def test_strict_validation_gives_the_real_messages(sim: SimCluster, tmp_path: Path) -> None:
    _ok(sim, "create", "namespace", "k2-strict")
    manifest = tmp_path / "typo.yaml"
    manifest.write_text(SSA.replace("k2-ssa", "k2-strict").replace("replicas: REPLICAS", "replica: 2"))
    done = sim.kubectl("apply", "-f", str(manifest))
    assert done.returncode == 1
    assert 'strict decoding error: unknown field "spec.replica"' in done.stderr
    relaxed = sim.kubectl("apply", "--validate=false", "-f", str(manifest))
    assert relaxed.returncode == 0, relaxed.stderr
    unsupported = sim.kubectl("create", "-f", "-", stdin=json.dumps(
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "v6", "namespace": "k2-strict"},
         "spec": {"ipFamilies": ["IPv6"], "ports": [{"port": 80}]}}
    ))  # fmt: skip
    assert 'The Service "v6" is invalid: spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster' in (
        unsupported.stderr
    )


def test_images_marked_unpullable_end_in_image_pull_back_off(sim: SimCluster) -> None:
    _ok(sim, "create", "namespace", "k2-pull")
    assert sim.control("POST", "/sim/v1/images", {"unpullable": ["registry.example/private/*"]}) == {
        "unpullable": ["registry.example/private/*"]
    }
    _ok(sim, "run", "private", "-n", "k2-pull", "--image=registry.example/private/app:1.0")

    def status() -> str:
        row = _ok(sim, "get", "pod", "private", "-n", "k2-pull", "--no-headers").split()
        return row[2]

    assert _eventually(lambda: status() == "ErrImagePull")
    sim.advance(12)
    assert _eventually(lambda: status() == "ImagePullBackOff")
    sim.control("POST", "/sim/v1/images", {"unpullable": []})
    sim.advance(25)
    assert _eventually(lambda: status() == "Running")
