"""Probe recommendations: a missing readiness/liveness probe, proposed as a patch the user can apply.

Without a readiness probe a pod receives traffic before it listens (the design's "Connection refused"
while starting); without liveness a hung process is never restarted. We can only propose what the
manifest proves: a TCP check on the container's first declared port. Liveness is made more tolerant
than readiness (later start, more failures) so the two never kill a pod that is merely busy
(kube-score's identical-probes complaint).
"""

from __future__ import annotations

from typing import Any

from k8s_optimizer.domain.objects import ContainerSpec, Workload
from k8s_optimizer.recommend import patches
from k8s_optimizer.recommend.model import Recommendation

READINESS = {"periodSeconds": 10, "failureThreshold": 3}
LIVENESS = {"initialDelaySeconds": 15, "periodSeconds": 20, "failureThreshold": 6}


def _port(container: ContainerSpec) -> int | str | None:
    if not container.ports:
        return None
    first = container.ports[0]
    return first.name or first.container_port


def _probes(container: ContainerSpec, port: int | str) -> dict[str, Any]:
    proposed: dict[str, Any] = {}
    if container.readiness_probe is None:
        proposed["readinessProbe"] = {"tcpSocket": {"port": port}, **READINESS}
    if container.liveness_probe is None:
        proposed["livenessProbe"] = {"tcpSocket": {"port": port}, **LIVENESS}
    return proposed


def probe_recommendations(workload: Workload) -> list[Recommendation]:
    """One recommendation per container that lacks a probe and declares a port to check."""
    recommendations = []
    ref = workload.ref()
    for container in workload.containers:
        port = _port(container)
        proposed = _probes(container, port) if port is not None else {}
        if not proposed:
            continue
        patch = {"spec": {"template": {"spec": {"containers": [{"name": container.name, **proposed}]}}}}
        missing = " and ".join(name.removesuffix("Probe") for name in proposed)
        recommendations.append(
            Recommendation(
                id=patches.recommendation_id(ref, container.name, "probe", proposed),
                target=ref,
                container=container.name,
                kind="probe",
                priority="medium" if "readinessProbe" in proposed else "low",
                severity="warning",
                savings_monthly_usd=0.0,
                confidence=0.5,  # a TCP check proves the port listens, not that the app is healthy
                rationale=f"no {missing} probe: add a TCP check on port {port} (replace with an HTTP health path)",
                current=None,
                proposed=None,
                bounds=None,
                data=None,
                patch=patch,
                patch_yaml=patches.patch_yaml(patch),
                kubectl_patch=patches.kubectl_patch(ref, patch),
                verify_commands=patches.verify_commands(ref, None),
            )
        )
    return recommendations
