"""Write the kubeconfig that points clients at the embedded cluster.

The backend must reach the simulator exactly as it reaches a kind cluster (kubeconfig → client), so the
names mirror what `kind create cluster --name k8s-optimizer` writes: cluster, user and context are all
`kind-k8s-optimizer`. Plain HTTP with a static token loads in kubectl, `kubernetes` and kubernetes_asyncio.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

CONTEXT = "kind-k8s-optimizer"
TOKEN = "k8s-optimizer-sim-token"  # not a secret: the simulator accepts any token (it has no authn)


def client_host(listen_host: str) -> str:
    """The address clients dial: a wildcard listen address is reached through loopback."""
    return "127.0.0.1" if listen_host in ("", "0.0.0.0", "::") else listen_host


def kubeconfig(server_url: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": CONTEXT, "cluster": {"server": server_url}}],
        "users": [{"name": CONTEXT, "user": {"token": TOKEN}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": CONTEXT}}],
        "current-context": CONTEXT,
    }


def write_kubeconfig(path: Path, server_url: str) -> Path:
    """Write atomically (a reader never sees half a file) with owner-only permissions, like kind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.tmp")
    partial.write_text(yaml.safe_dump(kubeconfig(server_url), sort_keys=False))
    os.chmod(partial, 0o600)
    partial.replace(path)
    return path
