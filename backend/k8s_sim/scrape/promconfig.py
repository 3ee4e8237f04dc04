"""The Prometheus scrape configuration for the embedded cluster, and the target labels its series carry.

Why: Debian's Prometheus has no Kubernetes service discovery, so the sim itself says what there is to
scrape: `write_config` writes a prometheus.yml with three jobs reading file_sd target files, and
`TargetWriter` rewrites those files whenever nodes or pods come and go (Prometheus reloads them on change).
The jobs and labels follow kube-prometheus-stack: `job="kubelet"` with `metrics_path="/metrics/cadvisor"`,
`node` and `instance="<node IP>:10250"` for cAdvisor; `job="kube-state-metrics"` (honor_labels) with
`instance="<pod IP>:8080"`; `job="kubernetes-pods"` (honor_labels) with `instance="<pod IP>:<port>"` for
each pod's request counter. Every target is the API server address with `__metrics_path__` set to the
proxy path. The backfill writer stamps the same target labels on its series (`series_labels`), so the
history it writes and the live scrape are the same series.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from k8s_sim import resources as r
from k8s_sim.kubeconfig import TOKEN
from k8s_sim.scrape.routes import CADVISOR_PATH, KSM_NAMESPACE, KSM_PORT, KSM_SERVICE, POD_PATH, SERVICE_PATH
from k8s_sim.scrape.traffic import service_of
from k8s_sim.store import Obj, ObjectStore, WatchEvent

KUBELET_JOB = "kubelet"
KSM_JOB = "kube-state-metrics"
PODS_JOB = "kubernetes-pods"
JOBS = (KUBELET_JOB, KSM_JOB, PODS_JOB)
KUBELET_PORT = 10250
KSM_PORT_NUMBER = 8080
DEFAULT_POD_PORT = 8080


@dataclass(frozen=True, slots=True)
class Target:
    job: str
    metrics_path: str  # the API server path Prometheus requests
    labels: dict[str, str]  # the target labels every scraped series gets (job included)


def _internal_ip(node: Obj) -> str:
    for address in node.get("status", {}).get("addresses") or ():
        if address.get("type") == "InternalIP":
            return str(address["address"])
    return str(node["metadata"]["name"])


def cadvisor_target(node: Obj) -> Target:
    name = node["metadata"]["name"]
    labels = {
        "job": KUBELET_JOB,
        "instance": f"{_internal_ip(node)}:{KUBELET_PORT}",
        "node": name,
        "metrics_path": "/metrics/cadvisor",
    }
    return Target(KUBELET_JOB, CADVISOR_PATH.format(node=name), labels)


def ksm_target(store: ObjectStore) -> Target | None:
    if store.get(r.SERVICES, KSM_NAMESPACE, KSM_SERVICE) is None:
        return None
    ip = next(
        (
            str(p["status"]["podIP"])
            for p in store.list_objects(r.PODS, KSM_NAMESPACE)
            if p["metadata"].get("labels", {}).get("app.kubernetes.io/name") == KSM_SERVICE
            and p.get("status", {}).get("podIP")
        ),
        "",
    )
    path = SERVICE_PATH.format(namespace=KSM_NAMESPACE, service=f"{KSM_SERVICE}:{KSM_PORT}")
    return Target(KSM_JOB, path, {"job": KSM_JOB, "instance": f"{ip}:{KSM_PORT_NUMBER}"})


def pod_port(pod: Obj) -> int:
    for container in pod["spec"].get("containers") or ():
        for port in container.get("ports") or ():
            if port.get("containerPort"):
                return int(port["containerPort"])
    return DEFAULT_POD_PORT


def pod_target(store: ObjectStore, pod: Obj, *, service: str | None = None) -> Target | None:
    """The scrape target of a pod's own /metrics: only Running pods with an IP behind a Service (`service`:
    the one already looked up)."""
    ip = pod.get("status", {}).get("podIP")
    if not ip or (service or service_of(store, pod)) is None:
        return None
    port = pod_port(pod)
    path = POD_PATH.format(namespace=pod["metadata"]["namespace"], pod=f"{pod['metadata']['name']}:{port}")
    return Target(PODS_JOB, path, {"job": PODS_JOB, "instance": f"{ip}:{port}"})


def targets(store: ObjectStore) -> dict[str, list[Target]]:
    """Every target the cluster has now, by job."""
    pods = [t for t in (pod_target(store, p) for p in store.list_objects(r.PODS)) if t is not None]
    ksm = ksm_target(store)
    return {
        KUBELET_JOB: [cadvisor_target(node) for node in store.list_objects(r.NODES)],
        KSM_JOB: [ksm] if ksm is not None else [],
        PODS_JOB: pods,
    }


def file_sd(address: str, job_targets: list[Target]) -> list[dict[str, Any]]:
    """file_sd target groups: the API server address, the proxy path and the target labels (job is set by
    the scrape config, so it is left out here)."""
    return [
        {
            "targets": [address],
            "labels": {"__metrics_path__": t.metrics_path, **{k: v for k, v in t.labels.items() if k != "job"}},
        }
        for t in job_targets
    ]


def targets_file(config_path: Path, job: str) -> Path:
    return config_path.with_name(f"{config_path.stem}-{job}-targets.json")


def prometheus_config(config_path: Path, *, scrape_interval_seconds: int = 15) -> dict[str, Any]:
    """prometheus.yml for the embedded cluster: one job per target kind, plain HTTP with the sim's token."""
    jobs = []
    for job in JOBS:
        jobs.append(
            {
                "job_name": job,
                "honor_labels": job != KUBELET_JOB,
                "authorization": {"type": "Bearer", "credentials": TOKEN},
                "file_sd_configs": [{"files": [str(targets_file(config_path, job))], "refresh_interval": "5s"}],
            }
        )
    interval = f"{scrape_interval_seconds}s"
    return {"global": {"scrape_interval": interval, "evaluation_interval": interval}, "scrape_configs": jobs}


def _write_atomic(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.tmp")
    partial.write_text(text)
    os.replace(partial, path)


class TargetWriter:
    """Writes prometheus.yml once and the file_sd target files whenever the set of targets changes."""

    def __init__(self, store: ObjectStore, config_path: Path, address: str, *, scrape_interval_seconds: int = 15):
        self.store = store
        self.config_path = config_path.resolve()  # file_sd paths in the config must not depend on its cwd
        self.address = address
        self.scrape_interval_seconds = scrape_interval_seconds
        self._written: dict[str, str] = {}
        self._dirty = True
        store.add_listener(self._on_event)

    def _on_event(self, event: WatchEvent) -> None:
        if event.resource in (r.PODS, r.NODES, r.SERVICES):
            self._dirty = True

    def write_config(self) -> None:
        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        config = prometheus_config(self.config_path, scrape_interval_seconds=self.scrape_interval_seconds)
        self.refresh()  # the target files exist before Prometheus reads the config
        _write_atomic(self.config_path, yaml.safe_dump(config, sort_keys=False))

    def refresh(self) -> bool:
        """Rewrite the target files that changed; True when any did. Nothing to do until a pod, node or
        Service changes (walking 10,000 pods takes half a second)."""
        if not self._dirty:
            return False
        self._dirty = False
        changed = False
        for job, job_targets in targets(self.store).items():
            text = json.dumps(file_sd(self.address, job_targets), indent=1, sort_keys=True)
            if self._written.get(job) != text:
                _write_atomic(targets_file(self.config_path, job), text)
                self._written[job] = text
                changed = True
        return changed
