"""`k8s-optimizer sim --backfill-days … --openmetrics-out … --prometheus-config-out …` as a process: the file
is complete before the `ready` line, and the file_sd targets follow the pods."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import aiohttp
import yaml

from k8s_sim.kubeconfig import TOKEN
from tests.sim.scrape.openmetrics import read

_EXECUTABLE = Path(sys.executable).parent / "k8s-optimizer"


def _pod_targets(path: Path) -> list[str]:
    groups = json.loads(path.read_text())
    return sorted(group["labels"]["__metrics_path__"] for group in groups)


async def test_backfill_then_ready_then_targets_follow_pods(tmp_path: Path) -> None:
    history, config = tmp_path / "history.om", tmp_path / "prom" / "prometheus.yml"
    process = await asyncio.create_subprocess_exec(
        str(_EXECUTABLE),
        "sim",
        "--port=0",
        "--pods-hpa",
        "--backfill-days=0.02",
        "--backfill-step-seconds=30",
        f"--openmetrics-out={history}",
        f"--prometheus-config-out={config}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(60):
            line = (await process.stdout.readline()).decode()
        assert line.startswith("ready http://127.0.0.1:")
        url = line.split()[1]
        types, series, _ = read(history)  # complete (ends with # EOF) by the time `ready` is printed
        assert all(len(points) == 57 for points in series.values())  # 0.02 d = 28.8 min at 30 s: 57 steps
        assert {"container_cpu_usage_seconds", "http_requests", "kube_pod_owner"} <= set(types)
        assert any(("namespace", "rps-demo") in labels for _, labels in series)
        scrape = yaml.safe_load(config.read_text())
        assert [job["job_name"] for job in scrape["scrape_configs"]] == [
            "kubelet",
            "kube-state-metrics",
            "kubernetes-pods",
        ]
        assert scrape["scrape_configs"][0]["authorization"] == {"type": "Bearer", "credentials": TOKEN}
        pods_file = Path(scrape["scrape_configs"][2]["file_sd_configs"][0]["files"][0])
        before = _pod_targets(pods_file)
        assert any(p.startswith("/api/v1/namespaces/rps-demo/pods/rps-api-") for p in before)
        patch = {"spec": {"replicas": 6}}
        headers = {"Content-Type": "application/merge-patch+json", "Authorization": f"Bearer {TOKEN}"}
        async with aiohttp.ClientSession() as session:
            path = "/apis/apps/v1/namespaces/k8s-optimizer/deployments/optimizer-dashboard"
            async with session.patch(url + path, data=json.dumps(patch), headers=headers) as response:
                assert response.status == 200
        for _ in range(100):  # the sim rewrites the file within a second of the pods changing
            after = _pod_targets(pods_file)
            if len(after) >= len(before) + 4:
                break
            await asyncio.sleep(0.2)
        assert set(before) < set(after)
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            await process.wait()
    assert process.returncode == 0
