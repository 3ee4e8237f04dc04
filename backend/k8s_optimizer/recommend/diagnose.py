"""Why would connecting to this Service fail? The design's "Why Connection refused can happen", automated.

The causes form a chain (selector → pods → readiness → endpoints → ports → host mapping), and one
fault shows up at several links (a crash-looping pod also leaves the endpoints not-ready). To report
each planted fault exactly once, the diagnosis names the *root* link and folds the downstream symptom
into its message. Each finding carries the kubectl command that shows the evidence.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from dataclasses import dataclass

from k8s_optimizer.analysis import ingress, traffic
from k8s_optimizer.domain.objects import ObjectRef, Pod, Service, ServicePort
from k8s_optimizer.domain.topology import Topology
from k8s_optimizer.recommend.model import CheckSeverity, Diagnosis
from k8s_optimizer.recommend.policies import policy_findings


def _selector_text(service: Service) -> str:
    return ",".join(f"{key}={value}" for key, value in sorted((service.selector or {}).items()))


def _pods_command(service: Service) -> str:
    return f"kubectl -n {service.namespace} get pods -l {shlex.quote(_selector_text(service))} -o wide"


def _endpoints_command(service: Service) -> str:
    return f"kubectl -n {service.namespace} get endpoints {service.name} -o wide"


@dataclass(frozen=True, slots=True)
class _NotReady:
    diagnosis_id: str
    reason: str
    command: str


def _waiting_reason(pod: Pod) -> str | None:
    """The first waiting container's reason, with the kubelet's message when it names the cause."""
    for status in pod.container_statuses:
        if status.state == "waiting" and status.reason:
            if status.reason in _EXPLAINED_WAITS and status.message:
                return f"{status.reason}: {status.message}"
            return status.reason
    return None


# Waiting reasons whose message says what is missing (a Secret/ConfigMap or key, an image).
_EXPLAINED_WAITS = frozenset({"CreateContainerConfigError", "ErrImagePull", "ImagePullBackOff", "InvalidImageName"})


def _probe_event(pod: Pod, topology: Topology) -> str | None:
    for event in topology.snapshot.events.values():
        if event.involved.name == pod.name and event.namespace == pod.namespace and event.reason == "Unhealthy":
            return event.message
    return None


def classify_not_ready(pod: Pod, topology: Topology) -> _NotReady:
    """Why one pod is not Ready, with the command that proves it."""
    describe = f"kubectl -n {pod.namespace} describe pod {pod.name}"
    if pod.phase == "Pending" and pod.node_name is None:
        message = pod.unschedulable_message or "not scheduled yet"
        return _NotReady("podsUnschedulable", f"Pending, unschedulable: {message}", describe)
    waiting = _waiting_reason(pod)
    if waiting == "CrashLoopBackOff":
        restarts = pod.restart_count
        command = f"kubectl -n {pod.namespace} logs {pod.name} --previous"
        return _NotReady("podsCrashLooping", f"CrashLoopBackOff after {restarts} restarts", command)
    if waiting is not None:
        return _NotReady("podsNotReady", f"container waiting: {waiting}", describe)
    if any(container.readiness_probe is not None for container in pod.containers) and pod.phase == "Running":
        detail = _probe_event(pod, topology) or "readiness probe failing"
        return _NotReady("readinessProbeFailing", detail, describe)
    return _NotReady("podsNotReady", f"phase {pod.phase}, not Ready", describe)


def _not_ready_findings(service: Service, pods: list[Pod], topology: Topology) -> Iterator[Diagnosis]:
    not_ready = [pod for pod in pods if not pod.ready]
    if not not_ready:
        return
    all_down = len(not_ready) == len(pods)
    groups: dict[str, list[tuple[Pod, _NotReady]]] = {}
    for pod in sorted(not_ready, key=lambda pod: pod.name):
        verdict = classify_not_ready(pod, topology)
        groups.setdefault(verdict.diagnosis_id, []).append((pod, verdict))
    severity: CheckSeverity = "danger" if all_down else "warning"
    symptom = "no ready endpoints: connections are refused" if all_down else "fewer endpoints serve traffic"
    for diagnosis_id, members in groups.items():
        first_pod, first = members[0]
        yield Diagnosis(
            id=diagnosis_id,
            service=service.ref(),
            severity=severity,
            message=f"{len(members)}/{len(pods)} pods not Ready ({first_pod.name}: {first.reason}); {symptom}",
            evidence_command=first.command,
            fix=_NOT_READY_FIX[diagnosis_id],
            pods=tuple(pod.name for pod, _ in members),
        )


_NOT_READY_FIX = {
    "podsUnschedulable": "free capacity or lower the pod's requests / fix its node selector or tolerations",
    "podsCrashLooping": "read the previous container's logs and fix the crash (or its OOM / config)",
    "readinessProbeFailing": "make the readiness probe match what the container serves (path, port, timing)",
    "podsNotReady": "kubectl describe the pod and fix what keeps it from starting",
}


def _declared_ports(pods: list[Pod]) -> tuple[set[int], set[str]]:
    numbers = {port.container_port for pod in pods for c in pod.containers for port in c.ports}
    names = {port.name for pod in pods for c in pod.containers for port in c.ports if port.name}
    return numbers, names


def _port_finding(service: Service, port: ServicePort, pods: list[Pod]) -> Diagnosis | None:
    numbers, names = _declared_ports(pods)
    target = port.target_port
    command = (
        f"kubectl -n {service.namespace} get pods -l {shlex.quote(_selector_text(service))}"
        " -o jsonpath='{.items[*].spec.containers[*].ports}'"
    )
    if isinstance(target, str):
        if target in names:
            return None
        message = f"port {port.port} targets named port {target!r}, which no selected container declares"
        return Diagnosis(
            "targetPortNotFound", service.ref(), "danger", message, command, "fix targetPort or the container port name"
        )
    if target in numbers:
        return None
    if not numbers:
        # Declaring ports is optional, so this is no proof of a refusal: say what is known.
        message = (
            f"port {port.port} targets {target}, which no selected container declares (they declare no ports): "
            "it answers only if the process listens there"
        )
        return Diagnosis(
            "targetPortUndeclared", service.ref(), "info", message, command, f"declare containerPort {target}"
        )
    declared = ", ".join(str(number) for number in sorted(numbers))
    message = f"port {port.port} targets {target}, but the selected containers expose {declared}: connection refused"
    return Diagnosis(
        "targetPortMismatch", service.ref(), "danger", message, command, f"set targetPort to one of {declared}"
    )


def _endpoints_finding(service: Service, pods: list[Pod], topology: Topology) -> Diagnosis | None:
    """Ready pods but no ready endpoint addresses: the endpoints controller disagrees with the pods."""
    if not any(pod.ready for pod in pods):
        return None
    endpoints = topology.snapshot.endpoints.get((service.namespace, service.name))
    if endpoints is not None and endpoints.ready_count > 0:
        return None
    message = "pods are Ready but the Service has no ready endpoints"
    return Diagnosis(
        "endpointsEmpty",
        service.ref(),
        "danger",
        message,
        _endpoints_command(service),
        "check the endpoints controller and the selector",
    )


def _node_port_findings(service: Service, topology: Topology) -> Iterator[Diagnosis]:
    """kind exposes NodePorts on localhost only through extraPortMappings; only checked when they are known."""
    mappings = topology.snapshot.network.host_port_mappings
    if service.type not in ("NodePort", "LoadBalancer") or not mappings:
        return
    for port in service.ports:
        if port.node_port is not None and port.node_port not in mappings:
            yield Diagnosis(
                "nodePortNotMapped",
                service.ref(),
                "warning",
                f"nodePort {port.node_port} has no host port mapping: unreachable from localhost",
                f"kubectl -n {service.namespace} get service {service.name} -o jsonpath='{{.spec.ports[*].nodePort}}'",
                "use a mapped nodePort ("
                + ", ".join(str(p) for p in sorted(mappings))
                + ") or add an extraPortMapping",
            )


def _traffic_policy_findings(service: Service, topology: Topology) -> Iterator[Diagnosis]:
    """Nodes that drop the Service's traffic because a Local traffic policy finds no endpoint there."""
    if service.external_traffic_policy != "Local" and service.internal_traffic_policy != "Local":
        return
    snapshot = topology.snapshot
    slices = [
        e
        for e in snapshot.endpoint_slices.values()
        if (e.namespace, e.service_name) == (service.namespace, service.name)
    ]
    for message in traffic.drops(service, slices, snapshot.nodes.values()):
        yield Diagnosis(
            "localPolicyDrops",
            service.ref(),
            "warning",
            message,
            f"kubectl -n {service.namespace} get endpointslices -l kubernetes.io/service-name={service.name} -o wide",
            "run an endpoint on every node that receives traffic, or use the Cluster traffic policy",
        )


def _ingress_findings(service: Service, topology: Topology) -> Iterator[Diagnosis]:
    """Ingresses that route to this Service but cannot deliver: a wrong port, or no controller."""
    snapshot = topology.snapshot
    fronting = [i for i in snapshot.ingresses.values() if ingress.routes_to(service, [i])]
    if not fronting:
        return
    problems = ingress.problems(fronting, [service], snapshot.ingress_classes.values())
    for problem in problems:
        if " routes to " in problem.message and f" of Service {service.name}," not in problem.message:
            continue  # the same Ingress routing elsewhere: not this Service's problem
        yield Diagnosis(
            "ingressBroken",
            service.ref(),
            "danger" if "port" in problem.message else "warning",
            f"Ingress {problem.ingress.name}: {problem.message}",
            f"kubectl -n {service.namespace} get ingress {problem.ingress.name} -o yaml",
            "point the rule at an existing port of the Service, or set an ingressClassName that a controller serves",
        )


def diagnose_service(service: Service, topology: Topology) -> list[Diagnosis]:
    """Root-cause findings for one Service (empty when traffic can flow)."""
    if service.type == "ExternalName" or not service.selector:
        return []
    findings = list(_node_port_findings(service, topology))
    findings.extend(_traffic_policy_findings(service, topology))
    findings.extend(policy_findings(service, topology))
    findings.extend(_ingress_findings(service, topology))
    pods = topology.live_selected_pods(service)
    if not pods:
        message = f"selector {_selector_text(service)} matches no pods: endpoints are empty"
        findings.insert(
            0,
            Diagnosis(
                "selectorMatchesNoPods",
                service.ref(),
                "danger",
                message,
                _pods_command(service),
                "fix the Service selector or the pod labels",
            ),
        )
        return findings
    port_findings = [finding for port in service.ports if (finding := _port_finding(service, port, pods))]
    findings.extend(port_findings)
    findings.extend(_not_ready_findings(service, pods, topology))
    named_port_broken = any(finding.id == "targetPortNotFound" for finding in port_findings)
    endpoints = None if named_port_broken else _endpoints_finding(service, pods, topology)
    if endpoints is not None:
        findings.append(endpoints)
    return findings


def _unserved_groups(topology: Topology) -> dict[ObjectRef, list[Pod]]:
    """Pods no Service selects, grouped by owning workload (bare pods stand alone)."""
    served = {
        (pod.namespace, pod.name)
        for svc in topology.snapshot.services.values()
        for pod in topology.live_selected_pods(svc)
    }
    groups: dict[ObjectRef, list[Pod]] = {}
    for pod in topology.snapshot.pods.values():
        if pod.deleting or pod.phase in ("Succeeded", "Failed") or (pod.namespace, pod.name) in served:
            continue
        owner = topology.owner(pod) or pod.ref()
        groups.setdefault(owner, []).append(pod)
    return groups


def diagnose_workloads(topology: Topology) -> dict[ObjectRef, list[Diagnosis]]:
    """Why pods that no Service fronts are not Ready, keyed by workload (or bare pod).

    A crash-looping Deployment or an unschedulable bare pod refuses no connection (nothing routes to
    it) but is still broken; the finding's `service` field then names that workload or pod.
    """
    findings: dict[ObjectRef, list[Diagnosis]] = {}
    for owner, pods in sorted(_unserved_groups(topology).items(), key=lambda item: item[0].key()):
        not_ready = sorted((pod for pod in pods if not pod.ready), key=lambda pod: pod.name)
        groups: dict[str, list[tuple[Pod, _NotReady]]] = {}
        for pod in not_ready:
            verdict = classify_not_ready(pod, topology)
            groups.setdefault(verdict.diagnosis_id, []).append((pod, verdict))
        for diagnosis_id, members in groups.items():
            first_pod, first = members[0]
            severity: CheckSeverity = "danger" if len(members) == len(pods) else "warning"
            findings.setdefault(owner, []).append(
                Diagnosis(
                    id=diagnosis_id,
                    service=owner,
                    severity=severity,
                    message=f"{len(members)}/{len(pods)} pods not Ready ({first_pod.name}: {first.reason})",
                    evidence_command=first.command,
                    fix=_NOT_READY_FIX[diagnosis_id],
                    pods=tuple(pod.name for pod, _ in members),
                )
            )
    return findings
