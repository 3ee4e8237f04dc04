"""`k8s-optimizer sim` as a process: the ready line, the kubeconfig, clean exits, flag errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from tests.simcluster import SimCluster

_CLI = [sys.executable, "-m", "k8s_optimizer", "sim"]


def test_ready_line_kubeconfig_and_clean_sigterm_exit() -> None:
    cluster = SimCluster.start(scenario="demo")
    try:
        assert cluster.url.startswith("http://127.0.0.1:")
        config = yaml.safe_load(cluster.kubeconfig.read_text())
        assert config["clusters"][0]["cluster"]["server"] == cluster.url
        assert config["current-context"] == "kind-k8s-optimizer"
        assert cluster.kubectl("version", "-o", "json").returncode == 0
    finally:
        exit_code = cluster.stop()
    assert exit_code == 0


def test_bad_fault_spec_exits_2_naming_the_term(tmp_path: Path) -> None:
    result = subprocess.run(
        [*_CLI, "--port=0", "--faults=error-rate=2"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "--faults: fault 'error-rate=2': value must be >= 0.0 and <= 1.0" in result.stderr
    assert result.stdout == ""
