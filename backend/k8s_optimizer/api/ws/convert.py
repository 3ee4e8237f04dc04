"""Changes and reports turned into WebSocket messages, in the same object shapes as REST.

A batch of changes is converted once against one `ViewContext` and the result offered to every
client; snapshots are the full state of the subscribed topics. Pure: no I/O, no awaiting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from k8s_optimizer.api import schemas as s
from k8s_optimizer.api.views import ViewContext, anomaly_out, event_out, hpa_out, recommendation_out
from k8s_optimizer.api.ws.protocol import Outgoing, SnapshotReason, delta, dump
from k8s_optimizer.domain.changes import Change
from k8s_optimizer.domain.objects import ObjectRef, Pod
from k8s_optimizer.domain.topology import selects
from k8s_optimizer.recommend.model import AnalysisReport

_TOPIC_OF_KIND: dict[str, s.Topic] = {
    "Pod": "pods",
    "Service": "services",
    "Deployment": "workloads",
    "StatefulSet": "workloads",
    "DaemonSet": "workloads",
    "HorizontalPodAutoscaler": "hpa",
    "HPAReplicas": "hpa",
    "Node": "nodes",
    "Event": "events",
}
_SERVICE_TOUCHING_KINDS = frozenset({"Endpoints", "ServiceEndpoints", "ServiceReadiness"})
_NAMESPACED_LIST_KEYS = ("pods", "services", "items")


class _Batch:
    """Turns a batch of changes into messages against one context."""

    def __init__(self, context: ViewContext, epoch: str) -> None:
        self.context = context
        self.epoch = epoch
        self.out: list[Outgoing] = []
        self.touched_services: dict[tuple[str, str], int] = {}

    def delta(self, change: Change, topic: s.Topic, kind: str, obj: s.Model | None) -> None:
        message = s.DeltaMessage(
            epoch=self.epoch,
            seq=change.seq,
            topic=topic,
            change="deleted" if obj is None else change.type,
            kind=kind,
            namespace=change.namespace,
            name=change.name,
            object=None if obj is None else dump(obj),
        )
        self.out.append(delta(topic, change.namespace, change.seq, message))

    def touch_services_of_pod(self, pod: Pod, seq: int) -> None:
        topology = self.context.topology
        if topology.snapshot.pods.get((pod.namespace, pod.name)) is pod:
            for name in topology.services_of_pod(pod):  # the topology's index, not a scan of every service
                self.touched_services[(pod.namespace, name)] = seq
            return
        for (namespace, name), service in topology.snapshot.services.items():
            if selects(service, pod):  # a deleted pod: no longer in the index
                self.touched_services[(namespace, name)] = seq

    def add(self, change: Change) -> None:
        if change.kind in _SERVICE_TOUCHING_KINDS:
            self.touched_services[(change.namespace, change.name)] = change.seq
            return
        topic = _TOPIC_OF_KIND.get(change.kind)
        if topic is None:
            return
        handler = getattr(self, f"_add_{topic}")
        handler(change, topic)

    def _add_pods(self, change: Change, topic: s.Topic) -> None:
        pod = self.context.snapshot.pods.get((change.namespace, change.name))
        if change.type == "deleted" or pod is None:
            if isinstance(change.object, Pod):
                self.touch_services_of_pod(change.object, change.seq)
            self.delta(change, topic, "Pod", None)
            return
        self.touch_services_of_pod(pod, change.seq)
        self.delta(change, topic, "Pod", self.context.pod_out(pod))

    def _add_services(self, change: Change, topic: s.Topic) -> None:
        service = self.context.snapshot.services.get((change.namespace, change.name))
        self.delta(change, topic, "Service", None if service is None else self.context.service_summary(service))

    def _add_workloads(self, change: Change, topic: s.Topic) -> None:
        ref = ObjectRef(change.kind, change.namespace, change.name)
        workload = self.context.snapshot.workloads.get(ref)
        summary = None if workload is None else self.context.workload_summary(workload)
        self.delta(change, topic, change.kind, summary)
        for name in self.context.topology.services_of(ref):
            self.touched_services[(change.namespace, name)] = change.seq

    def _add_hpa(self, change: Change, topic: s.Topic) -> None:
        hpa = self.context.snapshot.hpas.get((change.namespace, change.name))
        self.delta(change, topic, "HorizontalPodAutoscaler", None if hpa is None else hpa_out(hpa))

    def _add_nodes(self, change: Change, topic: s.Topic) -> None:
        node = self.context.snapshot.nodes.get(change.name)
        self.delta(change, topic, "Node", None if node is None else self.context.node_out(node))

    def _add_events(self, change: Change, topic: s.Topic) -> None:
        event = self.context.snapshot.events.get((change.namespace, change.name))
        self.delta(change, topic, "Event", None if event is None else event_out(event))

    def finish(self) -> list[Outgoing]:
        services = self.context.snapshot.services
        for (namespace, name), seq in self.touched_services.items():
            service = services.get((namespace, name))
            if service is None:
                continue
            message = s.DeltaMessage(
                epoch=self.epoch,
                seq=seq,
                topic="services",
                change="modified",
                kind="Service",
                namespace=namespace,
                name=name,
                object=dump(self.context.service_summary(service)),
            )
            self.out.append(delta("services", namespace, seq, message))
        self.out.sort(key=lambda message: message.seq)
        return self.out


def changes_to_messages(changes: Iterable[Change], context: ViewContext, *, epoch: str) -> list[Outgoing]:
    batch = _Batch(context, epoch)
    for change in changes:
        batch.add(change)
    return batch.finish()


def metrics_data(context: ViewContext) -> s.MetricsData:
    """Per-pod and per-service usage from the context's latest scrape."""
    usage = context.snapshot.container_usage
    pods: list[s.PodUsage] = []
    totals: dict[tuple[str, str], tuple[float, int]] = {}
    for (namespace, pod, _), reading in usage.items():
        cpu, memory = totals.get((namespace, pod), (0.0, 0))
        totals[(namespace, pod)] = (cpu + reading.cpu_millicores, memory + reading.memory_bytes)
    for (namespace, pod), (cpu, memory) in sorted(totals.items()):
        pods.append(s.PodUsage(namespace=namespace, name=pod, cpu_millicores=round(cpu, 3), memory_bytes=memory))
    services = []
    for service in context.snapshot.services.values():
        summary = context.service_summary(service)
        if summary.resources.cpu_usage_millicores is None:
            continue
        services.append(
            s.ServiceUsage(
                namespace=service.namespace,
                name=service.name,
                cpu_millicores=summary.resources.cpu_usage_millicores,
                memory_bytes=summary.resources.memory_usage_bytes or 0,
                cpu_request_millicores=summary.resources.cpu_request_millicores,
                memory_request_bytes=summary.resources.memory_request_bytes,
            )
        )
    stamps = [reading.timestamp for reading in usage.values()]
    return s.MetricsData(timestamp=max(stamps) if stamps else None, pods=pods, services=services)


def metrics_message(context: ViewContext, seq: int, epoch: str) -> Outgoing:
    """The `metrics` message of a scrape (sums every service: callers run it in a worker thread)."""
    payload = {"type": "metrics", "epoch": epoch, "seq": seq, **dump(metrics_data(context))}
    return Outgoing("metrics", "", seq, payload)


def for_namespace(payload: dict[str, Any], namespace: str | None) -> dict[str, Any]:
    """Filter a metrics/recommendations/anomalies payload's lists to one namespace."""
    if namespace is None:
        return payload
    filtered = dict(payload)
    for key in _NAMESPACED_LIST_KEYS:
        if key in filtered:
            filtered[key] = [item for item in filtered[key] if _item_namespace(item) == namespace]
    return filtered


def _item_namespace(item: dict[str, Any]) -> str | None:
    if "namespace" in item:
        return str(item["namespace"])
    target = item.get("target")
    return str(target.get("namespace")) if isinstance(target, dict) else None


def _object_lists(context: ViewContext, wanted: set[s.Topic], namespace: str | None) -> dict[str, Any]:
    def in_ns(ns: str) -> bool:
        return namespace is None or ns == namespace

    snap = context.snapshot
    builders: dict[s.Topic, Callable[[], list[Any]]] = {
        "services": lambda: [context.service_summary(v) for k, v in sorted(snap.services.items()) if in_ns(k[0])],
        "pods": lambda: [context.pod_out(v) for k, v in sorted(snap.pods.items()) if in_ns(k[0])],
        "nodes": lambda: [context.node_out(v) for _, v in sorted(snap.nodes.items())],
        "hpa": lambda: [hpa_out(v) for k, v in sorted(snap.hpas.items()) if in_ns(k[0])],
        "workloads": lambda: [context.workload_summary(w) for w in context.served_workloads() if in_ns(w.namespace)],
        "events": lambda: [event_out(v) for k, v in sorted(snap.events.items()) if in_ns(k[0])],
    }
    return {topic: build() for topic, build in builders.items() if topic in wanted}


def snapshot_data(context: ViewContext, topics: Iterable[s.Topic], namespace: str | None) -> s.SnapshotData:
    """The full state of `topics`, in the REST shapes."""
    wanted = set(topics)
    data = _object_lists(context, wanted, namespace)
    if "metrics" in wanted:
        data["metrics"] = s.MetricsData.model_validate(for_namespace(dump(metrics_data(context)), namespace))
    report = context.report
    if "recommendations" in wanted:
        recs = report.recommendations if report else ()
        data["recommendations"] = [
            recommendation_out(r) for r in recs if namespace is None or r.target.namespace == namespace
        ]
    if "anomalies" in wanted:
        anomalies = report.anomalies if report else ()
        data["anomalies"] = [anomaly_out(a) for a in anomalies if namespace is None or a.target.namespace == namespace]
    return s.SnapshotData(**data)


def snapshot_text(
    context: ViewContext,
    seq: int,
    epoch: str,
    reason: SnapshotReason,
    topics: tuple[s.Topic, ...],
    namespace: str | None,
) -> str:
    """A whole snapshot message, encoded (seconds at 10,000 pods: callers run it in a worker thread)."""
    message = s.SnapshotMessage(
        epoch=epoch,
        seq=seq,
        reason=reason,
        topics=list(topics),
        namespace=namespace,
        data=snapshot_data(context, topics, namespace),
    )
    return message.model_dump_json()


def analysis_messages(previous: AnalysisReport | None, report: AnalysisReport, seq: int, epoch: str) -> list[Outgoing]:
    """`recommendations` / `anomalies` messages for the sets of ids that changed (none when unchanged)."""
    out: list[Outgoing] = []
    old_recs = {r.id for r in previous.recommendations} if previous else set()
    new_recs = {r.id for r in report.recommendations}
    if previous is None or old_recs != new_recs:
        message = s.RecommendationsMessage(
            epoch=epoch,
            seq=seq,
            items=[recommendation_out(r) for r in report.recommendations],
            added=sorted(new_recs - old_recs),
            removed=sorted(old_recs - new_recs),
        )
        out.append(Outgoing("recommendations", "", seq, dump(message)))
    old_anomalies = {anomaly_out(a).id for a in previous.anomalies} if previous else set()
    items = [anomaly_out(a) for a in report.anomalies]
    new_anomalies = {a.id for a in items}
    if previous is None or old_anomalies != new_anomalies:
        message_a = s.AnomaliesMessage(
            epoch=epoch,
            seq=seq,
            items=items,
            added=sorted(new_anomalies - old_anomalies),
            removed=sorted(old_anomalies - new_anomalies),
        )
        out.append(Outgoing("anomalies", "", seq, dump(message_a)))
    return out
