"""Builders mirroring kube-proxy's test helpers (makeTestService, makeTestEndpointSlice), so the
upstream proxier test cases read almost as they do upstream."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from k8s_optimizer.analysis.kubeproxy.model import ProxyConfig, ProxyNode
from k8s_optimizer.domain.objects import EndpointPort, EndpointSlice, Service, ServicePort, SliceEndpoint

TEST_NODE = "test-node"  # upstream's testNodeName
# NewFakeProxier: the local detector is the cluster CIDR 10.0.0.0/8, masquerade bit 14, localhost
# NodePorts on, nfacct counters available.
FAKE_PROXIER = ProxyConfig(cluster_cidr="10.0.0.0/8")
NODE = ProxyNode(name=TEST_NODE, ip="192.168.0.2")


def service(namespace: str, name: str, **changes: Any) -> Service:
    base = Service(namespace=namespace, name=name, type="ClusterIP", cluster_ip=None, ports=(), selector=None)
    changed = replace(base, **changes)
    if changed.cluster_ip and not changed.cluster_ips:
        changed = replace(changed, cluster_ips=(changed.cluster_ip,))
    return changed


def port(name: str, number: int, *, protocol: str = "TCP", node_port: int | None = None) -> ServicePort:
    return ServicePort(port=number, target_port=number, protocol=protocol, name=name, node_port=node_port)


def endpoint_slice(
    namespace: str,
    service_name: str,
    slice_number: int,
    endpoints: tuple[SliceEndpoint, ...],
    ports: tuple[EndpointPort, ...],
    *,
    address_type: str = "IPv4",
) -> EndpointSlice:
    return EndpointSlice(
        namespace=namespace,
        name=f"{service_name}-{slice_number}",
        service_name=service_name,
        address_type=address_type,
        endpoints=endpoints,
        ports=ports,
    )


def endpoint(ip: str, **changes: Any) -> SliceEndpoint:
    return replace(SliceEndpoint(addresses=(ip,)), **changes)


def slice_port(name: str, number: int, protocol: str = "TCP") -> EndpointPort:
    return EndpointPort(port=number, name=name, protocol=protocol)
