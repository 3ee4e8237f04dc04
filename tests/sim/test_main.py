"""`k8s-optimizer sim` as a process: the ready line, the kubeconfig, clean exits, flag errors."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.simcluster import KUBECTL, SimCluster, SimClusterError

_CLI = [sys.executable, "-m", "k8s_optimizer", "sim"]


def test_ready_line_kubeconfig_and_clean_sigterm_exit() -> None:
    cluster = SimCluster.start(scenario="demo")
    try:
        assert cluster.url.startswith("http://127.0.0.1:")
        config = yaml.safe_load(cluster.kubeconfig.read_text())
        assert config["clusters"][0]["cluster"]["server"] == cluster.url
        assert config["current-context"] == "kind-k8s-optimizer"
        assert cluster.kubectl("version", "-o", "json").returncode == 0
        watcher = subprocess.Popen(
            [KUBECTL, f"--kubeconfig={cluster.kubeconfig}", "get", "pods", "-A", "--watch"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)  # let the watch open: shutdown must end it, not wait for it
    finally:
        started = time.monotonic()
        exit_code = cluster.stop()
        stop_seconds = time.monotonic() - started
        watcher.kill()
        watcher.wait()
    assert exit_code == 0
    assert stop_seconds < 5


def test_faults_from_the_command_line_and_the_control_endpoint() -> None:
    with SimCluster.start(scenario="demo", faults="error-rate=1") as cluster:  # no Retry-After: kubectl fails at once
        assert cluster.status()["faults"]["errorRate"] == 1.0
        failing = cluster.kubectl("get", "nodes", "--request-timeout=5s", timeout_seconds=60)
        assert failing.returncode == 1
        assert cluster.set_faults("")["spec"] == ""
        working = cluster.kubectl("get", "nodes", "-o", "name")
        assert working.stdout.split() == [
            "node/k8s-optimizer-control-plane",
            "node/k8s-optimizer-worker",
            "node/k8s-optimizer-worker2",
        ]


def test_bad_fault_spec_exits_2_naming_the_term(tmp_path: Path) -> None:
    result = subprocess.run(
        [*_CLI, "--port=0", "--faults=error-rate=2"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "--faults: fault 'error-rate=2': value must be >= 0.0 and <= 1.0" in result.stderr
    assert result.stdout == ""


def test_simcluster_reports_the_processes_stderr_when_it_does_not_come_up() -> None:
    with pytest.raises(SimClusterError) as raised:
        SimCluster.start(faults="latency-ms=-1", timeout_seconds=30)
    message = str(raised.value)
    assert message.startswith("embedded cluster not ready after 30s (rc=2):")
    assert "--faults: fault 'latency-ms=-1': value must be >= 0.0" in message
