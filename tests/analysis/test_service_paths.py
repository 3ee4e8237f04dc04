"""Every Service type has a path: headless, ExternalName, LoadBalancer, selector-less (manual
EndpointSlices), dual-stack and Local-policy NodePorts, on the hand-built kind cluster."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

from k8s_optimizer.analysis.network import service_map
from k8s_optimizer.domain.objects import (
    EndpointPort,
    EndpointSlice,
    Ingress,
    IngressBackend,
    IngressClass,
    IngressPath,
    IngressRule,
    Service,
    ServicePort,
    SliceEndpoint,
)
from k8s_optimizer.domain.snapshot import ClusterSnapshot
from k8s_optimizer.domain.topology import Topology
from k8s_optimizer.recommend.diagnose import diagnose_service
from tests.analysis.test_network import CP, NS, W1, W2, snapshot


def _with(snap: ClusterSnapshot, service: Service, *slices: EndpointSlice) -> ClusterSnapshot:
    services = {**snap.services, (service.namespace, service.name): service}
    endpoint_slices = {**snap.endpoint_slices, **{(e.namespace, e.name): e for e in slices}}
    return replace(snap, services=services, endpoint_slices=endpoint_slices)


def _slice(name: str, service: str, address_type: str, *endpoints: SliceEndpoint, port: int = 5678) -> EndpointSlice:
    return EndpointSlice(NS, name, service, address_type, endpoints, (EndpointPort(port, "http", "TCP"),))


ECHO_V4 = _slice(
    "echo-v4",
    "echo-demo",
    "IPv4",
    SliceEndpoint(("10.244.2.3",), node_name=W2, pod_name="echo-demo-7d9-a"),
    SliceEndpoint(("10.244.2.30",), node_name=W2, pod_name="echo-demo-7d9-b"),
    SliceEndpoint(
        ("10.244.1.7",), ready=False, serving=True, terminating=True, node_name=W1, pod_name="echo-demo-7d9-c"
    ),
)


def test_headless_dns_answers_pod_ips_and_nothing_proxies() -> None:
    snap = snapshot()
    headless = replace(snap.services[(NS, "echo-demo")], name="echo-headless", cluster_ip=None, cluster_ips=())
    snap = _with(snap, headless, replace(ECHO_V4, name="echo-headless-x", service_name="echo-headless"))
    (path,) = service_map(Topology.build(snap), headless).paths
    assert path.kind == "headless"
    assert [hop.kind for hop in path.hops] == ["client", "dns"]
    assert path.hops[1].note == "headless: answers the pod IPs 10.244.2.3, 10.244.2.30; no virtual IP, no kube-proxy"
    assert [(b.target, b.probability) for b in path.branches] == [
        ("10.244.2.3:5678", Fraction(1, 2)),
        ("10.244.2.30:5678", Fraction(1, 2)),
    ]
    assert path.branches[0].hops[0].label.endswith("also echo-demo-7d9-a.echo-headless.k8s-optimizer.svc.cluster.local")


def test_external_name_is_a_cname_with_no_proxying() -> None:
    snap = snapshot()
    external = Service(NS, "billing", "ExternalName", None, (), None, external_name="billing.example.com")
    snap = _with(snap, external)
    (path,) = service_map(Topology.build(snap), external).paths
    assert (path.kind, path.branches) == ("external-name", ())
    assert path.hops[1].note == "ExternalName: answers a CNAME to billing.example.com; nothing in the cluster proxies"
    assert (path.hops[2].kind, path.hops[2].label) == ("external", "billing.example.com")


def test_dual_stack_has_a_cluster_ip_path_per_family_and_brackets_ipv6() -> None:
    snap = snapshot()
    echo = replace(snap.services[(NS, "echo-demo")], cluster_ips=("10.96.131.97", "fd00:10:96::97"))
    v6 = _slice(
        "echo-v6", "echo-demo", "IPv6", SliceEndpoint(("fd00:10:244:2::3",), node_name=W2, pod_name="echo-demo-7d9-a")
    )
    snap = _with(snap, echo, ECHO_V4, v6)
    view = service_map(Topology.build(snap), echo)
    assert [p.hops[2].address for p in view.paths] == ["10.96.131.97:80", "[fd00:10:96::97]:80"]
    assert [e.addresses for e in view.ready_endpoints] == [
        ("10.244.2.3:5678",),
        ("10.244.2.30:5678",),
        ("[fd00:10:244:2::3]:5678",),
    ]
    # The terminating, not-ready endpoint is listed but not balanced to.
    assert [(e.ip, e.terminating) for e in view.endpoints if not e.ready] == [("10.244.1.7", True)]


def test_local_policy_node_port_path_drops_on_a_node_without_an_endpoint() -> None:
    snap = snapshot()
    dashboard = replace(snap.services[(NS, "optimizer-dashboard")], external_traffic_policy="Local")
    snap = _with(snap, dashboard)
    view = service_map(Topology.build(snap), dashboard)
    node_port = next(p for p in view.paths if p.kind == "node-port")
    assert node_port.hops[-2].label == f"NodePort 30080 on {CP}"  # kind maps host ports to the control plane
    assert node_port.hops[-1].note == (
        f"externalTrafficPolicy: Local and no endpoint on {CP}: the packet is dropped (clients time out)"
    )
    assert node_port.branches == ()


def test_load_balancer_path_enters_through_the_ingress_ip() -> None:
    snap = snapshot()
    lb = replace(
        snap.services[(NS, "optimizer-dashboard")],
        type="LoadBalancer",
        load_balancer_ips=("172.20.255.200",),
    )
    snap = _with(snap, lb)
    view = service_map(Topology.build(snap), lb)
    (path,) = [p for p in view.paths if p.kind == "load-balancer"]
    assert [hop.kind for hop in path.hops] == ["client", "load-balancer", "node-port", "kube-proxy"]
    assert path.hops[1].address == "172.20.255.200:80"
    assert [(b.target, b.probability) for b in path.branches] == [("10.244.1.4:80", Fraction(1))]


def test_selector_less_service_follows_its_manual_endpoint_slices() -> None:
    snap = snapshot()
    manual = Service(NS, "legacy-db", "ClusterIP", "10.96.50.5", (ServicePort(5432, 5432, "TCP", "pg"),), None)
    db_slice = EndpointSlice(
        NS, "legacy-db-1", "legacy-db", "IPv4", (SliceEndpoint(("192.168.10.20",)),), (EndpointPort(5432, "pg", "TCP"),)
    )
    snap = _with(snap, manual, db_slice)
    (path,) = service_map(Topology.build(snap), manual).paths
    assert [(b.target, b.probability) for b in path.branches] == [("192.168.10.20:5432", Fraction(1))]
    assert (
        path.hops[-1].command
        == "kubectl -n k8s-optimizer get endpointslices -l kubernetes.io/service-name=legacy-db -o wide"
    )


def test_an_ingress_in_front_of_a_service_is_an_entry_path() -> None:
    snap = snapshot()
    echo = snap.services[(NS, "echo-demo")]
    web = Ingress(
        NS,
        "echo",
        "nginx",
        (IngressRule("echo.local", (IngressPath("/", "Prefix", IngressBackend("echo-demo", "http")),)),),
        tls_hosts=("echo.local",),
        load_balancer_ips=("172.20.0.4",),
    )
    snap = replace(snap, ingresses={(NS, "echo"): web})
    (path,) = [p for p in service_map(Topology.build(snap), echo).paths if p.kind == "ingress"]
    assert [hop.kind for hop in path.hops] == ["client", "ingress", "cluster-ip", "kube-proxy"]
    assert path.hops[1].label == "Ingress echo (nginx): echo.local/"
    assert [b.target for b in path.branches] == ["10.244.2.3:5678", "10.244.2.30:5678"]


def test_the_diagnosis_names_an_ingress_routing_to_a_port_the_service_lacks() -> None:
    snap = snapshot()
    echo = snap.services[(NS, "echo-demo")]
    wrong = Ingress(
        NS, "echo", "nginx", (IngressRule(None, (IngressPath("/", "Prefix", IngressBackend("echo-demo", 8080)),)),)
    )
    snap = replace(
        snap, ingresses={(NS, "echo"): wrong}, ingress_classes={"nginx": IngressClass("nginx", "k8s.io/ingress-nginx")}
    )
    (finding,) = [d for d in diagnose_service(echo, Topology.build(snap)) if d.id == "ingressBroken"]
    assert (finding.severity, finding.message) == (
        "danger",
        "Ingress echo: */ routes to port 8080 of Service echo-demo, which has no such port",
    )
