"""A Service's own slice of the node's rules, per mode, and the settings read from kube-proxy's ConfigMap."""

from __future__ import annotations

from pathlib import Path

from k8s_optimizer.analysis.kubeproxy.model import ProxyConfig
from k8s_optimizer.analysis.kubeproxy.view import KubeProxySettings, rules_view, settings_from_config
from tests.analysis.kubeproxy.test_iptables import _overall_services, _overall_slices
from tests.analysis.kubeproxy.upstream import FAKE_PROXIER, NODE

EXPECTED = Path(__file__).parent / "expected"
SETTINGS = KubeProxySettings("iptables", FAKE_PROXIER, "test")


def _svc(name: str):  # type: ignore[no-untyped-def]
    return next(s for s in _overall_services() if s.name == name)


def test_iptables_view_of_one_service_is_its_chains_and_the_shared_lines_naming_it() -> None:
    view = rules_view(SETTINGS, _overall_services(), _overall_slices(), NODE, service=_svc("svc4"))
    assert view.text == (EXPECTED / "svc4.iptables-save").read_text()
    assert [(r.endpoint, r.chain) for r in view.endpoint_rules] == [
        ("10.180.0.4:80", "KUBE-SEP-UKSFD7AGPMPPLUHC"),
        ("10.180.0.5:80", "KUBE-SEP-C6EBXVWJJZMIWKLZ"),
    ]
    assert view.listing is not None
    assert view.listing.startswith("Chain KUBE-EXT-4SW47YFZTEDKD3PK (1 references)\n")


def test_a_service_without_endpoints_shows_its_reject_rule() -> None:
    view = rules_view(SETTINGS, _overall_services(), _overall_slices(), NODE, service=_svc("svc6"))
    assert view.text == (EXPECTED / "svc6.iptables-save").read_text()
    assert view.endpoint_rules == ()


def test_nftables_view_of_one_service() -> None:
    view = rules_view(SETTINGS, _overall_services(), _overall_slices(), NODE, service=_svc("svc1"), mode="nftables")
    assert [(r.endpoint, r.chain) for r in view.endpoint_rules] == [
        ("10.180.0.1:80", "endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80")
    ]
    assert (
        "add element ip kube-proxy service-ips { 172.30.0.41 . tcp . 80 : goto service-ULMVA6XW-ns1/svc1/tcp/p80 }"
        in view.text
    )


def test_ipvs_view_of_one_service() -> None:
    view = rules_view(SETTINGS, _overall_services(), _overall_slices(), NODE, service=_svc("svc3"), mode="ipvs")
    assert "TCP  172.30.0.43:80 rr\n  -> 10.180.0.3:80" in view.text
    assert "172.30.0.41" not in view.text.split("create ")[0]  # other Services' virtual servers are left out


def test_settings_come_from_the_kube_proxy_configmap() -> None:
    kind_conf = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clusterCIDR": "10.244.0.0/16",
        "iptables": {"masqueradeAll": False, "masqueradeBit": None, "localhostNodePorts": None},
    }
    settings = settings_from_config(kind_conf, default_mode="nftables", cluster_cidr=None)
    assert settings == KubeProxySettings(
        "iptables",
        ProxyConfig(cluster_cidr="10.244.0.0/16", masquerade_all=False, masquerade_bit=14, localhost_node_ports=True),
        "kube-system/kube-proxy ConfigMap",
    )


def test_empty_mode_means_iptables_and_no_configmap_means_the_setting() -> None:
    assert settings_from_config({"mode": ""}, default_mode="ipvs", cluster_cidr=None).mode == "iptables"
    fallback = settings_from_config(None, default_mode="nftables", cluster_cidr="10.244.0.0/16")
    assert (fallback.mode, fallback.config.cluster_cidr, fallback.source) == ("nftables", "10.244.0.0/16", "setting")
