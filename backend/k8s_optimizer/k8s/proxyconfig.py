"""kube-proxy's own configuration, read from the cluster: kube-system/kube-proxy's `config.conf`.

kubeadm (and so kind) publishes the KubeProxyConfiguration every kube-proxy runs with in this
ConfigMap; its `mode`, `clusterCIDR` and iptables settings decide which rules the nodes hold. Reading
it needs only `get` on that one ConfigMap (a Role scoped by resourceName in deploy/base). A cluster
without it, or a backend without the right, falls back to the optimizer's settings.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import yaml

from k8s_optimizer.k8s.connection import ApiReader
from k8s_optimizer.k8s.errors import ClusterError

logger = logging.getLogger(__name__)

PATH = "/api/v1/namespaces/kube-system/configmaps/kube-proxy"


def parse_config(configmap: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The KubeProxyConfiguration inside the ConfigMap, or None when it is missing or not YAML."""
    text = (configmap.get("data") or {}).get("config.conf")
    if not isinstance(text, str):
        return None
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return parsed if isinstance(parsed, Mapping) else None


async def read_kube_proxy_config(connection: ApiReader) -> Mapping[str, Any] | None:
    try:
        return parse_config(await connection.get_json(PATH))
    except ClusterError as error:
        logger.info("kube-proxy configuration not readable (%s); using OPTIMIZER_KUBE_PROXY_MODE", error.message)
        return None
