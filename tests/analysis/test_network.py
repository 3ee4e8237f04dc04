"""The service network map on a hand-built kind-like cluster (the design's 3-node example)."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

import pytest

from k8s_optimizer.analysis.network import (
    BackingWorkload,
    EndpointView,
    HPAView,
    NetworkPlane,
    PortTarget,
    ProxyRule,
    common_network,
    iptables_probabilities,
    network_map,
    service_map,
)
from k8s_optimizer.domain.objects import (
    HPA,
    ContainerPort,
    ContainerSpec,
    EndpointAddress,
    EndpointPort,
    Endpoints,
    LabelSelector,
    Node,
    ObjectRef,
    OwnerRef,
    Pod,
    Service,
    ServicePort,
    Workload,
)
from k8s_optimizer.domain.snapshot import ClusterSnapshot, NetworkSettings
from k8s_optimizer.domain.topology import Topology

NS = "k8s-optimizer"
CP, W1, W2 = "k8s-optimizer-control-plane", "k8s-optimizer-worker", "k8s-optimizer-worker2"


def node(name: str, ip: str, cidr: str, *, control_plane: bool = False) -> Node:
    labels = {"node-role.kubernetes.io/control-plane": ""} if control_plane else {}
    return Node(name, labels, ip, cidr, 4000, 8 * 2**30, 4000, 8 * 2**30, True)


def pod(name: str, ip: str, node_name: str, app: str, owner: OwnerRef | None, port_name: str = "http") -> Pod:
    container = ContainerSpec("app", "img", ports=(ContainerPort(5678 if app == "echo-demo" else 80, port_name),))
    return Pod(NS, name, f"uid-{name}", {"app": app}, owner, node_name, ip, None, "Running", True, (container,))


RS = OwnerRef("ReplicaSet", "echo-demo-7d9", "rs-uid", True)
DASH_RS = OwnerRef("ReplicaSet", "dashboard-5c6", "rs2-uid", True)


def snapshot() -> ClusterSnapshot:
    nodes = {
        CP: node(CP, "172.20.0.4", "10.244.0.0/24", control_plane=True),
        W1: node(W1, "172.20.0.2", "10.244.1.0/24"),
        W2: node(W2, "172.20.0.3", "10.244.2.0/24"),
    }
    pods = [
        pod("echo-demo-7d9-a", "10.244.2.3", W2, "echo-demo", RS),
        pod("echo-demo-7d9-b", "10.244.2.30", W2, "echo-demo", RS),
        pod("echo-demo-7d9-c", "10.244.1.7", W1, "echo-demo", RS),
        pod("dashboard-5c6-a", "10.244.1.4", W1, "optimizer-dashboard", DASH_RS),
        pod("load-gen", "10.244.1.10", W1, "load-gen", None),
    ]
    services = [
        Service(
            NS,
            "echo-demo",
            "ClusterIP",
            "10.96.131.97",
            (ServicePort(80, "http", "TCP", "http"),),
            {"app": "echo-demo"},
        ),
        Service(
            NS,
            "optimizer-dashboard",
            "NodePort",
            "10.96.45.211",
            (ServicePort(80, 80, "TCP", None, 30080),),
            {"app": "optimizer-dashboard"},
        ),
        Service(
            "kube-system",
            "kube-dns",
            "ClusterIP",
            "10.96.0.10",
            (ServicePort(53, 53, "UDP", "dns"),),
            {"k8s-app": "kube-dns"},
        ),
    ]
    endpoints = [
        Endpoints(
            NS,
            "echo-demo",
            (
                EndpointAddress("10.244.2.3", True, "echo-demo-7d9-a", W2),
                EndpointAddress("10.244.2.30", True, "echo-demo-7d9-b", W2),
                EndpointAddress("10.244.1.7", False, "echo-demo-7d9-c", W1),
            ),
            (EndpointPort(5678, "http"),),
        ),
        Endpoints(
            NS,
            "optimizer-dashboard",
            (EndpointAddress("10.244.1.4", True, "dashboard-5c6-a", W1),),
            (EndpointPort(80),),
        ),
    ]

    def workload(kind: str, name: str, replicas: int, owner: OwnerRef | None = None) -> Workload:
        return Workload(kind, NS, name, f"{name}-uid", {}, LabelSelector(), (), replicas, ready_replicas=2, owner=owner)  # type: ignore[arg-type]

    workloads = [
        workload("Deployment", "echo-demo", 3),
        workload("ReplicaSet", "echo-demo-7d9", 3, OwnerRef("Deployment", "echo-demo", "echo-demo-uid", True)),
        workload("Deployment", "optimizer-dashboard", 1),
        workload("ReplicaSet", "dashboard-5c6", 1, OwnerRef("Deployment", "optimizer-dashboard", "d-uid", True)),
    ]
    hpa = HPA(
        NS, "echo-demo", ObjectRef("Deployment", NS, "echo-demo"), 2, 10, (), current_replicas=3, desired_replicas=4
    )
    return ClusterSnapshot(
        taken_at=datetime(2026, 11, 26, tzinfo=UTC),
        namespaces={},
        nodes=nodes,
        pods={(p.namespace, p.name): p for p in pods},
        services={(s.namespace, s.name): s for s in services},
        endpoints={(e.namespace, e.name): e for e in endpoints},
        workloads={w.ref(): w for w in workloads},
        hpas={(NS, "echo-demo"): hpa},
        pdbs={},
        events={},
        network=NetworkSettings(host_port_mappings={30080: 3000, 30081: 8080}),
    )


def test_echo_demo_service_map() -> None:
    snap = snapshot()
    view = service_map(Topology.build(snap), snap.services[(NS, "echo-demo")])
    assert view.dns_name == "echo-demo.k8s-optimizer.svc.cluster.local"
    assert (view.type, view.cluster_ip) == ("ClusterIP", "10.96.131.97")
    port = view.ports[0]
    assert (port.port, port.target_port, port.node_port, port.host_port) == (80, "http", None, None)
    assert port.targets == (
        PortTarget("echo-demo-7d9-a", 5678),
        PortTarget("echo-demo-7d9-b", 5678),
        PortTarget("echo-demo-7d9-c", 5678),
    )
    assert view.endpoints == (
        EndpointView("10.244.2.3", (5678,), True, "echo-demo-7d9-a", W2, "172.20.0.3"),
        EndpointView("10.244.2.30", (5678,), True, "echo-demo-7d9-b", W2, "172.20.0.3"),
        EndpointView("10.244.1.7", (5678,), False, "echo-demo-7d9-c", W1, "172.20.0.2"),
    )
    assert [e.addresses for e in view.ready_endpoints] == [("10.244.2.3:5678",), ("10.244.2.30:5678",)]
    assert view.workloads == (BackingWorkload("Deployment", "echo-demo", 3, 2, HPAView("echo-demo", 2, 10, 3, 4)),)
    assert view.kube_proxy[0].rules == (
        ProxyRule(0, "10.244.2.3:5678", "echo-demo-7d9-a", W2, Fraction(1, 2), Fraction(1, 2)),
        ProxyRule(1, "10.244.2.30:5678", "echo-demo-7d9-b", W2, Fraction(1), Fraction(1, 2)),
    )


def test_cluster_ip_path_from_a_client_pod_marks_cross_node_delivery() -> None:
    snap = snapshot()
    client = snap.pods[(NS, "load-gen")]
    view = service_map(Topology.build(snap), snap.services[(NS, "echo-demo")], client=client)
    (path,) = view.paths
    assert path.kind == "cluster-ip"
    assert [hop.kind for hop in path.hops] == ["client", "dns", "cluster-ip", "kube-proxy"]
    assert [hop.address for hop in path.hops] == ["10.244.1.10", "10.96.0.10:53", "10.96.131.97:80", None]
    assert path.hops[1].note == "answers 10.96.131.97"
    assert path.hops[3].command == "kubectl -n k8s-optimizer get endpoints echo-demo -o wide"
    assert [(b.target, b.probability, b.cross_node) for b in path.branches] == [
        ("10.244.2.3:5678", Fraction(1, 2), True),
        ("10.244.2.30:5678", Fraction(1, 2), True),
    ]
    assert [hop.kind for hop in path.branches[0].hops] == ["cni", "pod"]
    assert path.branches[0].hops[0].label == f"CNI node-to-node delivery {W1} → {W2}"
    assert path.branches[0].hops[1].command == "kubectl -n k8s-optimizer get pod echo-demo-7d9-a -o wide"


def test_cluster_ip_path_without_a_client_leaves_node_locality_unknown() -> None:
    snap = snapshot()
    (path,) = service_map(Topology.build(snap), snap.services[(NS, "echo-demo")]).paths
    assert [b.cross_node for b in path.branches] == [None, None]
    assert [hop.kind for hop in path.branches[0].hops] == ["pod"]


def test_node_port_path_from_the_host_through_kind_port_mapping() -> None:
    snap = snapshot()
    view = service_map(Topology.build(snap), snap.services[(NS, "optimizer-dashboard")])
    assert (view.ports[0].node_port, view.ports[0].host_port) == (30080, 3000)
    cluster_ip_path, node_port_path = view.paths
    assert cluster_ip_path.kind == "cluster-ip"
    assert node_port_path.kind == "node-port"
    assert [(hop.kind, hop.address) for hop in node_port_path.hops] == [
        ("host", "localhost:3000"),
        ("port-mapping", None),
        ("node-port", "172.20.0.4:30080"),
        ("kube-proxy", None),
    ]
    (branch,) = node_port_path.branches
    assert (branch.target, branch.probability, branch.cross_node) == ("10.244.1.4:80", Fraction(1), True)
    assert branch.hops[0].label == f"CNI node-to-node delivery {CP} → {W1}"


def test_network_planes_and_whole_map() -> None:
    whole = network_map(Topology.build(snapshot()))
    assert whole.planes == (
        NetworkPlane("node", "172.20.0.0/16", ("172.20.0.4", "172.20.0.2", "172.20.0.3"), whole.planes[0].note),
        NetworkPlane("pod", "10.244.0.0/16", ("10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24"), whole.planes[1].note),
        NetworkPlane("service", "10.96.0.0/12", ("10.96.0.10", "10.96.131.97", "10.96.45.211"), whole.planes[2].note),
    )
    assert whole.dns_service_ip == "10.96.0.10"
    assert [(s.namespace, s.name) for s in whole.services] == [
        (NS, "echo-demo"),
        (NS, "optimizer-dashboard"),
        ("kube-system", "kube-dns"),
    ]


def test_service_without_ready_endpoints_has_no_dnat_targets() -> None:
    snap = snapshot()
    service = Service(NS, "nobody", "ClusterIP", "10.96.9.9", (ServicePort(80, 8080),), {"app": "none"})
    view = service_map(Topology.build(snap), service)
    assert (view.endpoints, view.kube_proxy[0].rules, view.workloads) == ((), (), ())
    assert view.paths[0].hops[-1].note == "no ready endpoints: the connection is rejected"


@pytest.mark.parametrize("count", [1, 2, 3, 5, 10])
def test_iptables_rule_probabilities_give_each_endpoint_one_nth(count: int) -> None:
    probabilities = iptables_probabilities(count)
    assert [rule for rule, _ in probabilities] == [Fraction(1, count - i) for i in range(count)]
    assert [overall for _, overall in probabilities] == [Fraction(1, count)] * count


@pytest.mark.parametrize(
    ("addresses", "expected"),
    [
        (["172.20.0.2", "172.20.0.3", "172.20.0.4"], "172.20.0.0/16"),
        (["10.244.0.0/24", "10.244.1.0/24"], "10.244.0.0/16"),
        (["10.1.0.1", "10.200.0.1"], "10.0.0.0/8"),
        ([], None),
        (["not-an-ip"], None),
    ],
)
def test_common_network(addresses: list[str], expected: str | None) -> None:
    assert common_network(addresses) == expected
