"""kube-proxy's own iptables proxier tests, transcribed with their expected output unchanged.

Source: kubernetes pkg/proxy/iptables/proxier_test.go (TestOverallIPTablesRules and the cases after
it). Upstream compares after `sortIPTablesRules`; our renderer emits that canonical order directly.
"""

from __future__ import annotations

from pathlib import Path

from k8s_optimizer.analysis.kubeproxy.iptables import probability, render
from k8s_optimizer.domain.objects import EndpointSlice, Service
from tests.analysis.kubeproxy.upstream import (
    FAKE_PROXIER,
    NODE,
    TEST_NODE,
    endpoint,
    endpoint_slice,
    port,
    service,
    slice_port,
)


def _overall_services() -> list[Service]:
    return [
        service("ns1", "svc1", cluster_ip="172.30.0.41", ports=(port("p80", 80),)),
        service(
            "ns2",
            "svc2",
            type="LoadBalancer",
            external_traffic_policy="Local",
            cluster_ip="172.30.0.42",
            ports=(port("p80", 80, node_port=3001),),
            load_balancer_ips=("1.2.3.4",),
            external_ips=("192.168.99.22",),
            health_check_node_port=30000,
        ),
        service("ns3", "svc3", type="NodePort", cluster_ip="172.30.0.43", ports=(port("p80", 80, node_port=3003),)),
        service(
            "ns4",
            "svc4",
            type="NodePort",
            cluster_ip="172.30.0.44",
            external_ips=("192.168.99.33",),
            ports=(port("p80", 80),),
        ),
        service(
            "ns5",
            "svc5",
            type="LoadBalancer",
            external_traffic_policy="Cluster",
            cluster_ip="172.30.0.45",
            ports=(port("p80", 80, node_port=3002),),
            load_balancer_ips=("5.6.7.8",),
            health_check_node_port=30000,
            # Extra whitespace upstream keeps to show an untidy value doesn't crash the proxy.
            load_balancer_source_ranges=(" 203.0.113.0/25",),
            session_affinity_timeout_seconds=10800,
        ),
        service("ns6", "svc6", type="ClusterIP", cluster_ip="172.30.0.46", ports=(port("p80", 80),)),
    ]


def _overall_slices() -> list[EndpointSlice]:
    p80 = (slice_port("p80", 80),)
    return [
        endpoint_slice("ns1", "svc1", 1, (endpoint("10.180.0.1"),), p80),
        # No NodeName: not local, so the Local-policy LoadBalancer has no local endpoint here.
        endpoint_slice("ns2", "svc2", 1, (endpoint("10.180.0.2"),), p80),
        endpoint_slice("ns3", "svc3", 1, (endpoint("10.180.0.3"),), p80),
        endpoint_slice("ns4", "svc4", 1, (endpoint("10.180.0.4"), endpoint("10.180.0.5", node_name=TEST_NODE)), p80),
        endpoint_slice("ns5", "svc5", 1, (endpoint("10.180.0.3"),), p80),
    ]


# TestOverallIPTablesRules' expected output, byte for byte.
OVERALL_EXPECTED = (Path(__file__).parent / "expected" / "overall.iptables").read_text()


def test_overall_iptables_rules_match_kube_proxy() -> None:
    rules = render(_overall_services(), _overall_slices(), NODE, FAKE_PROXIER)
    assert rules.restore_input() == OVERALL_EXPECTED


def test_probability_strings_are_kube_proxys() -> None:
    assert [probability(n) for n in (2, 3, 4, 7)] == ["0.5000000000", "0.3333333333", "0.2500000000", "0.1428571429"]


def test_restore_text_is_independent_of_input_order() -> None:
    forward = render(_overall_services(), _overall_slices(), NODE, FAKE_PROXIER).restore_input()
    backward = render(
        list(reversed(_overall_services())), list(reversed(_overall_slices())), NODE, FAKE_PROXIER
    ).restore_input()
    assert forward == backward
