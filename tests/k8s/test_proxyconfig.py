"""kube-proxy's KubeProxyConfiguration out of its ConfigMap."""

from __future__ import annotations

from k8s_optimizer.k8s.proxyconfig import parse_config


def test_kinds_config_conf_is_parsed() -> None:
    configmap = {"data": {"config.conf": "kind: KubeProxyConfiguration\nmode: iptables\nclusterCIDR: 10.244.0.0/16\n"}}
    assert parse_config(configmap) == {
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clusterCIDR": "10.244.0.0/16",
    }


def test_a_configmap_without_config_or_with_broken_yaml_is_none() -> None:
    assert parse_config({"data": {}}) is None
    assert parse_config({}) is None
    assert parse_config({"data": {"config.conf": "mode: [unclosed"}}) is None
    assert parse_config({"data": {"config.conf": "- a list, not a configuration"}}) is None
