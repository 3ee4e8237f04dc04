from __future__ import annotations

from dataclasses import replace

import pytest

from k8s_optimizer.domain.objects import ContainerStatus, Event, ObjectRef, Pod, Service
from k8s_optimizer.domain.snapshot import ClusterSnapshot
from k8s_optimizer.domain.topology import Topology
from k8s_optimizer.recommend.diagnose import diagnose_service, diagnose_workloads
from tests.recommend.factories import NS, deployment, endpoints_for, pod, service, snapshot

WEB = deployment()


def _cluster(svc: Service, pods: list[Pod], *, ready_endpoints: bool = True, **extra: object) -> ClusterSnapshot:
    endpoint_pods = [replace(p, ready=p.ready and ready_endpoints) for p in pods]
    return snapshot(workloads=[WEB], pods=pods, services=[svc], endpoints=[endpoints_for(svc, endpoint_pods)], **extra)  # type: ignore[arg-type]


def _ids(snap: ClusterSnapshot) -> list[str]:
    [svc] = snap.services.values()
    return [finding.id for finding in diagnose_service(svc, Topology.build(snap))]


def _waiting(reason: str) -> Pod:
    return pod(WEB, ready=False, statuses=[ContainerStatus("app", False, 7, "waiting", reason=reason)])


def test_healthy_service_has_no_findings():
    assert _ids(_cluster(service(), [pod(WEB), pod(WEB, 1)])) == []


CASES = [
    ("selectorMatchesNoPods", lambda: _cluster(service(selector={"app": "webb"}), [pod(WEB)])),
    ("targetPortMismatch", lambda: _cluster(service(target_port=9090), [pod(WEB)])),
    ("targetPortNotFound", lambda: _cluster(service(target_port="metrics"), [pod(WEB)], ready_endpoints=False)),
    ("podsCrashLooping", lambda: _cluster(service(), [_waiting("CrashLoopBackOff")])),
    ("podsNotReady", lambda: _cluster(service(), [_waiting("ImagePullBackOff")])),
    (
        "podsUnschedulable",
        lambda: _cluster(
            service(),
            [
                pod(
                    WEB,
                    ready=False,
                    phase="Pending",
                    node=None,
                    statuses=[],
                    unschedulable="0/3 nodes are available: 3 Insufficient cpu.",
                )
            ],
        ),
    ),
    ("readinessProbeFailing", lambda: _cluster(service(), [pod(WEB, ready=False)])),
    ("endpointsEmpty", lambda: _cluster(service(), [pod(WEB)], ready_endpoints=False)),
    (
        "nodePortNotMapped",
        lambda: _cluster(service(type_="NodePort", node_port=30099), [pod(WEB)], host_port_mappings={30080: 30080}),
    ),
]


@pytest.mark.parametrize(("expected", "build"), CASES, ids=[case[0] for case in CASES])
def test_each_fault_yields_exactly_its_diagnosis(expected, build):
    assert _ids(build()) == [expected]


def test_crash_loop_finding_names_the_evidence_command():
    snap = _cluster(service(), [_waiting("CrashLoopBackOff"), pod(WEB, 1)])
    [finding] = diagnose_service(snap.services[(NS, "web")], Topology.build(snap))
    assert finding.severity == "warning"  # one of two pods still serves
    assert finding.evidence_command == "kubectl -n shop logs web-7d9f-0 --previous"
    assert finding.pods == ("web-7d9f-0",)
    assert (
        finding.message
        == "1/2 pods not Ready (web-7d9f-0: CrashLoopBackOff after 7 restarts); fewer endpoints serve traffic"
    )


def test_all_pods_down_is_danger_with_probe_event_detail():
    broken = pod(WEB, ready=False)
    event = Event(
        NS,
        "e1",
        ObjectRef("Pod", NS, broken.name),
        "Unhealthy",
        "Readiness probe failed: HTTP probe failed with statuscode: 500",
        "Warning",
    )
    snap = replace(_cluster(service(), [broken]), events={(NS, "e1"): event})
    [finding] = diagnose_service(snap.services[(NS, "web")], Topology.build(snap))
    assert finding.severity == "danger"
    assert "Readiness probe failed: HTTP probe failed with statuscode: 500" in finding.message
    assert finding.evidence_command == "kubectl -n shop describe pod web-7d9f-0"


def test_selector_finding_command():
    snap = _cluster(service(selector={"app": "webb"}), [pod(WEB)])
    [finding] = diagnose_service(snap.services[(NS, "web")], Topology.build(snap))
    assert finding.evidence_command == "kubectl -n shop get pods -l app=webb -o wide"


def test_service_without_selector_is_not_diagnosed():
    assert _ids(_cluster(service(selector={}), [pod(WEB)])) == []


def test_unknown_host_mappings_do_not_flag_node_ports():
    assert _ids(_cluster(service(type_="NodePort", node_port=30099), [pod(WEB)])) == []


def test_unserved_workloads_and_bare_pods_are_diagnosed():
    worker = deployment("worker")
    crashing = pod(
        worker, statuses=[ContainerStatus("app", False, 9, "waiting", reason="CrashLoopBackOff")], ready=False
    )
    bare = replace(
        pod(WEB, 5, ready=False, phase="Pending", node=None, statuses=[], unschedulable="0/3 nodes are available"),
        name="too-big",
        owner=None,
        labels={"app": "too-big"},
    )
    served = pod(WEB)  # behind the healthy `web` Service: its diagnosis is the Service's business
    snap = replace(_cluster(service(), [served, crashing, bare]), workloads={worker.ref(): worker})
    found = {key: [d.id for d in findings] for key, findings in diagnose_workloads(Topology.build(snap)).items()}
    assert found == {
        ObjectRef("Deployment", NS, "worker"): ["podsCrashLooping"],
        ObjectRef("Pod", NS, "too-big"): ["podsUnschedulable"],
    }


def test_ready_unserved_workloads_have_no_findings():
    worker = deployment("worker")
    snap = replace(_cluster(service(), [pod(WEB), pod(worker)]), workloads={worker.ref(): worker})
    assert diagnose_workloads(Topology.build(snap)) == {}
