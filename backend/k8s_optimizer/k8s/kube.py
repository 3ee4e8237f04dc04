"""The Kubernetes adapter's front door: what the live model and writer.py import from `k8s/`.

Everything reachable from here speaks domain types and `k8s.errors`; kubernetes_asyncio stays inside
this package (import-linter enforces it). The one deliberate exception is `KubeConnection.api_client()`
for `k8s/writer.py`, which sits in this package too.
"""

from __future__ import annotations

from collections.abc import Sequence

from k8s_optimizer.k8s.connection import ApiReader, KubeConnection, connect, translate_api_exception
from k8s_optimizer.k8s.informer import RESOURCES, Backoff, Informer, InformerSink, ResourceKind
from k8s_optimizer.k8s.metrics import fetch_node_metrics, fetch_pod_metrics
from k8s_optimizer.k8s.proxyconfig import read_kube_proxy_config

__all__ = [
    "RESOURCES",
    "ApiReader",
    "Backoff",
    "Informer",
    "InformerSink",
    "KubeConnection",
    "ResourceKind",
    "build_informers",
    "connect",
    "fetch_node_metrics",
    "fetch_pod_metrics",
    "read_kube_proxy_config",
    "translate_api_exception",
]


def build_informers(
    connection: ApiReader,
    sink: InformerSink,
    namespaces: Sequence[str] = (),
    *,
    resources: Sequence[ResourceKind] = RESOURCES,
) -> list[Informer]:
    """One informer per kind, or per (kind, namespace) when scoped to namespaces.

    Scoped to namespaces, the Namespace kind is not watched (listing namespaces needs cluster-wide
    rights); the live model fills those entries from the settings instead. Nodes are still tried:
    without the right they stay empty and health says why.
    """
    informers: list[Informer] = []
    for resource in resources:
        if not namespaces or not resource.namespaced:
            if namespaces and resource.kind == "Namespace":
                continue
            informers.append(Informer(connection, resource, sink))
            continue
        informers.extend(Informer(connection, resource, sink, namespace=namespace) for namespace in namespaces)
    return informers
