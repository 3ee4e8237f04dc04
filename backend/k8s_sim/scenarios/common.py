"""What every scenario's cluster has: kind-like nodes, the system namespaces and kube-system's workloads.

The shapes follow a kind cluster named `k8s-optimizer` (node names, labels, taints, node info, pod CIDRs,
the `kubernetes` and `kube-dns` Services, CoreDNS, kube-proxy, kindnet, metrics-server and the control
plane's static pods), so the optimizer and kubectl see what they would see on the real thing.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

from k8s_sim import resources as r
from k8s_sim.admission import DNS_SERVICE_IP, KUBERNETES_SERVICE_IP
from k8s_sim.scrape.state import KSM_SERVICE_ACCOUNT, kube_state_metrics_objects
from k8s_sim.store import Obj, ObjectStore

CLUSTER_NAME = "k8s-optimizer"
KUBE_VERSION = "v1.31.0"
CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease", "local-path-storage")


@dataclass(frozen=True, slots=True)
class NodeSpec:
    name: str
    ip: str
    pod_cidr: str
    control_plane: bool = False
    cpu: str = "4"
    memory: str = "8148008Ki"
    pods: str = "110"


def demo_nodes() -> list[NodeSpec]:
    return [
        NodeSpec(f"{CLUSTER_NAME}-control-plane", "172.20.0.4", "10.244.0.0/24", control_plane=True),
        NodeSpec(f"{CLUSTER_NAME}-worker", "172.20.0.2", "10.244.1.0/24"),
        NodeSpec(f"{CLUSTER_NAME}-worker2", "172.20.0.3", "10.244.2.0/24"),
    ]


def _hex(seed: str, length: int) -> str:
    text = ""
    counter = 0
    while len(text) < length:
        text += f"{zlib.crc32(f'{seed}/{counter}'.encode()):08x}"
        counter += 1
    return text[:length]


def node_object(spec: NodeSpec) -> Obj:
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": spec.name,
        "kubernetes.io/os": "linux",
    }
    if spec.control_plane:
        labels["node-role.kubernetes.io/control-plane"] = ""
        labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
    resources = {
        "cpu": spec.cpu,
        "ephemeral-storage": "102625208Ki",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": spec.memory,
        "pods": spec.pods,
    }
    uuid = _hex(spec.name, 32)
    return {
        "metadata": {
            "name": spec.name,
            "labels": labels,
            "annotations": {
                "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///run/containerd/containerd.sock",
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        },
        "spec": {
            "podCIDR": spec.pod_cidr,
            "podCIDRs": [spec.pod_cidr],
            "providerID": f"kind://docker/{CLUSTER_NAME}/{spec.name}",
            **({"taints": [dict(CONTROL_PLANE_TAINT)]} if spec.control_plane else {}),
        },
        "status": {
            "capacity": dict(resources),
            "allocatable": dict(resources),
            "conditions": _node_conditions(),
            "addresses": [{"type": "InternalIP", "address": spec.ip}, {"type": "Hostname", "address": spec.name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": f"{uuid[:8]}-{uuid[8:12]}-{uuid[12:16]}-{uuid[16:20]}-{uuid[20:32]}",
                "containerRuntimeVersion": "containerd://1.7.18",
                "kernelVersion": "6.1.0-28-cloud-amd64",
                "kubeProxyVersion": KUBE_VERSION,
                "kubeletVersion": KUBE_VERSION,
                "machineID": _hex(spec.name + "machine", 32),
                "operatingSystem": "linux",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "systemUUID": uuid,
            },
            "images": [],
        },
    }


def _node_conditions() -> list[Obj]:
    rows = [
        ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
    ]
    return [{"type": t, "status": s, "reason": reason, "message": m} for t, s, reason, m in rows]


def create_nodes(store: ObjectStore, nodes: list[NodeSpec]) -> None:
    now = store.clock.rfc3339()
    for spec in nodes:
        node = node_object(spec)
        for item in node["status"]["conditions"]:
            item["lastHeartbeatTime"] = now
            item["lastTransitionTime"] = now
        store.create(r.NODES, node)


def create_namespaces(store: ObjectStore, names: tuple[str, ...] | list[str]) -> None:
    for name in names:
        if store.get(r.NAMESPACES, "", name) is None:
            store.create(r.NAMESPACES, {"metadata": {"name": name}})
            store.create(r.SERVICEACCOUNTS, {"metadata": {"name": "default", "namespace": name}})
            store.create(
                r.CONFIGMAPS,
                {"metadata": {"name": "kube-root-ca.crt", "namespace": name}, "data": {"ca.crt": _FAKE_CA}},
            )


_FAKE_CA = "-----BEGIN CERTIFICATE-----\n(embedded cluster: no TLS)\n-----END CERTIFICATE-----\n"


def _container(name: str, image: str, cpu: str, memory: str, **extra: Any) -> Obj:
    container: Obj = {
        "name": name,
        "image": image,
        "resources": {"requests": {"cpu": cpu, "memory": memory}},
    }
    container.update(extra)
    return container


def _deployment(namespace: str, name: str, labels: dict[str, str], replicas: int, pod_spec: Obj) -> Obj:
    return {
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "template": {"metadata": {"labels": dict(labels)}, "spec": pod_spec},
        },
    }


def _coredns() -> tuple[Obj, Obj]:
    labels = {"k8s-app": "kube-dns"}
    ports = [
        {"name": "dns", "containerPort": 53, "protocol": "UDP"},
        {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
        {"name": "metrics", "containerPort": 9153, "protocol": "TCP"},
    ]
    container = _container(
        "coredns",
        "registry.k8s.io/coredns/coredns:v1.11.3",
        "100m",
        "70Mi",
        args=["-conf", "/etc/coredns/Corefile"],
        ports=ports,
        readinessProbe={"httpGet": {"path": "/ready", "port": 8181}, "periodSeconds": 10},
        livenessProbe={"httpGet": {"path": "/health", "port": 8080}, "initialDelaySeconds": 60},
    )
    container["resources"]["limits"] = {"memory": "170Mi"}
    pod_spec = {
        "containers": [container],
        "priorityClassName": "system-cluster-critical",
        "serviceAccountName": "coredns",
        "tolerations": [
            {"key": "CriticalAddonsOnly", "operator": "Exists"},
            {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
        ],
        "dnsPolicy": "Default",
    }
    deployment = _deployment("kube-system", "coredns", labels, 2, pod_spec)
    deployment["metadata"]["annotations"] = {
        "sim.k8s-optimizer.io/rps": "20",
        "sim.k8s-optimizer.io/cpu-per-request-millicores": "0.2",
    }
    deployment["spec"]["template"]["metadata"]["annotations"] = dict(deployment["metadata"]["annotations"])
    service = {
        "metadata": {
            "name": "kube-dns",
            "namespace": "kube-system",
            "labels": {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"},
            "annotations": {"prometheus.io/port": "9153", "prometheus.io/scrape": "true"},
        },
        "spec": {
            "clusterIP": DNS_SERVICE_IP,
            "selector": dict(labels),
            "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153},
            ],
        },
    }
    return deployment, service


def _metrics_server() -> tuple[Obj, Obj]:
    labels = {"k8s-app": "metrics-server"}
    container = _container(
        "metrics-server",
        "registry.k8s.io/metrics-server/metrics-server:v0.7.2",
        "100m",
        "200Mi",
        args=["--cert-dir=/tmp", "--secure-port=10250", "--kubelet-insecure-tls", "--metric-resolution=15s"],
        ports=[{"name": "https", "containerPort": 10250, "protocol": "TCP"}],
        readinessProbe={"httpGet": {"path": "/readyz", "port": "https", "scheme": "HTTPS"}, "initialDelaySeconds": 20},
    )
    pod_spec = {
        "containers": [container],
        "priorityClassName": "system-cluster-critical",
        "serviceAccountName": "metrics-server",
    }
    deployment = _deployment("kube-system", "metrics-server", labels, 1, pod_spec)
    service = {
        "metadata": {"name": "metrics-server", "namespace": "kube-system", "labels": dict(labels)},
        "spec": {
            "selector": dict(labels),
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": "https"}],
        },
    }
    return deployment, service


def _daemonset(name: str, image: str, cpu: str, memory: str, labels: dict[str, str]) -> Obj:
    container = _container(name, image, cpu, memory)
    if name == "kindnet-cni":
        container["resources"]["limits"] = {"cpu": cpu, "memory": memory}
    return {
        "metadata": {"name": name.removesuffix("-cni"), "namespace": "kube-system", "labels": dict(labels)},
        "spec": {
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "containers": [container],
                    "hostNetwork": True,
                    "priorityClassName": "system-node-critical",
                    "tolerations": [{"operator": "Exists"}],
                },
            },
        },
    }


def _static_pods(control_plane: str) -> list[Obj]:
    rows = [
        ("etcd", "registry.k8s.io/etcd:3.5.15-0", "100m", "100Mi", "etcd"),
        ("kube-apiserver", f"registry.k8s.io/kube-apiserver:{KUBE_VERSION}", "250m", "0", "kube-apiserver"),
        (
            "kube-controller-manager",
            f"registry.k8s.io/kube-controller-manager:{KUBE_VERSION}",
            "200m",
            "0",
            "kube-controller-manager",
        ),
        ("kube-scheduler", f"registry.k8s.io/kube-scheduler:{KUBE_VERSION}", "100m", "0", "kube-scheduler"),
    ]
    pods = []
    for name, image, cpu, memory, component in rows:
        requests = {"cpu": cpu, **({"memory": memory} if memory != "0" else {})}
        pods.append(
            {
                "metadata": {
                    "name": f"{name}-{control_plane}",
                    "namespace": "kube-system",
                    "labels": {"component": component, "tier": "control-plane"},
                    "annotations": {
                        "kubernetes.io/config.source": "file",
                        "sim.k8s-optimizer.io/cpu-baseline-millicores": str(int(cpu[:-1]) // 2),
                    },
                },
                "spec": {
                    "nodeName": control_plane,
                    "hostNetwork": True,
                    "priorityClassName": "system-node-critical",
                    "containers": [{"name": name, "image": image, "resources": {"requests": requests}}],
                    "tolerations": [{"operator": "Exists", "effect": "NoExecute"}],
                },
            }
        )
    return pods


def create_system(store: ObjectStore, control_plane: str, control_plane_ip: str) -> None:
    """kube-system, the `kubernetes` Service, CoreDNS, kube-proxy, kindnet, metrics-server,
    kube-state-metrics, static pods."""
    create_namespaces(store, SYSTEM_NAMESPACES)
    kubernetes = {
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "labels": {"component": "apiserver", "provider": "kubernetes"},
        },
        "spec": {
            "clusterIP": KUBERNETES_SERVICE_IP,
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
        },
    }
    store.create(r.SERVICES, kubernetes)
    store.create(
        r.ENDPOINTS,
        {
            "metadata": {
                "name": "kubernetes",
                "namespace": "default",
                "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"},
            },
            "subsets": [
                {"addresses": [{"ip": control_plane_ip}], "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}
            ],
        },
    )
    for sa in ("coredns", "metrics-server", "kube-proxy", "kindnet", KSM_SERVICE_ACCOUNT):
        store.create(r.SERVICEACCOUNTS, {"metadata": {"name": sa, "namespace": "kube-system"}})
    for pod in _static_pods(control_plane):
        store.create(r.PODS, pod)
    for deployment, service in (_coredns(), _metrics_server(), kube_state_metrics_objects()):
        store.create(r.DEPLOYMENTS, deployment)
        store.create(r.SERVICES, service)
    store.create(
        r.DAEMONSETS,
        _daemonset("kube-proxy", f"registry.k8s.io/kube-proxy:{KUBE_VERSION}", "0", "0", {"k8s-app": "kube-proxy"}),
    )
    store.create(
        r.DAEMONSETS,
        _daemonset(
            "kindnet-cni",
            "docker.io/kindest/kindnetd:v20240813-c6f155d6",
            "100m",
            "50Mi",
            {"app": "kindnet", "k8s-app": "kindnet"},
        ),
    )
