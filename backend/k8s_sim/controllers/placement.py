"""The scheduler's placement rules beyond resources and taints, as kube-scheduler's plugins apply them.

- SchedulingGates: a pod with `spec.schedulingGates` is not considered (PodScheduled=False, SchedulingGated).
- VolumeBinding (PreFilter): a claim that does not exist, or is unbound with an `Immediate` class, keeps the
  pod Pending with the real message; `WaitForFirstConsumer` claims are bound after scheduling.
- NodeAffinity: `nodeSelector` and required `nodeAffinity` terms (In, NotIn, Exists, DoesNotExist, Gt, Lt,
  `matchFields` on `metadata.name`) for every pod, DaemonSet pods included.
- InterPodAffinity: required pod affinity and anti-affinity by `topologyKey` (a first pod that matches its
  own affinity term may start the group, as upstream allows).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from k8s_sim import resources as r
from k8s_sim.admission import selector_matches
from k8s_sim.controllers.storage import claim_names
from k8s_sim.store import Obj, ObjectStore

NODE_AFFINITY_REASON = "node(s) didn't match Pod's node affinity/selector"
POD_AFFINITY_REASON = "node(s) didn't match pod affinity rules"
POD_ANTI_AFFINITY_REASON = "node(s) didn't match pod anti-affinity rules"
GATED_MESSAGE = "Scheduling is blocked due to non-empty scheduling gates"


def _requirement(expression: Obj, value: str | None) -> bool:
    operator, values = expression.get("operator"), [str(v) for v in expression.get("values") or ()]
    if operator == "In":
        return value is not None and value in values
    if operator == "NotIn":
        return value is None or value not in values
    if operator == "Exists":
        return value is not None
    if operator == "DoesNotExist":
        return value is None
    if operator in ("Gt", "Lt") and value is not None and values:
        try:
            number, bound = int(value), int(values[0])
        except ValueError:
            return False
        return number > bound if operator == "Gt" else number < bound
    return False


def _term_matches(term: Obj, labels: dict[str, str], name: str) -> bool:
    expressions = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not expressions and not fields:
        return False  # an empty term matches no objects
    label_ok = all(_requirement(e, labels.get(str(e.get("key")))) for e in expressions)
    field_ok = all(_requirement(f, name if f.get("key") == "metadata.name" else None) for f in fields)
    return label_ok and field_ok


def node_fits(spec: Obj, labels: dict[str, str], name: str) -> bool:
    """nodeSelector and required node affinity (terms are ORed, expressions within a term ANDed)."""
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    if not required:
        return True
    return any(_term_matches(term, labels, name) for term in required.get("nodeSelectorTerms") or ())


def pre_filter(store: ObjectStore, pod: Obj) -> str | None:
    """A reason that holds on every node (the PreFilter failures), or None."""
    namespace = pod["metadata"].get("namespace", "")
    for claim_name in claim_names(pod.get("spec") or {}):
        claim = store.get(r.PVCS, namespace, claim_name)
        if claim is None:
            return f'persistentvolumeclaim "{claim_name}" not found'
        if (claim.get("status") or {}).get("phase") == "Bound":
            continue
        class_name = (claim.get("spec") or {}).get("storageClassName")
        storage_class = store.get(r.STORAGECLASSES, "", str(class_name)) if class_name else None
        if storage_class is None or storage_class.get("volumeBindingMode") != "WaitForFirstConsumer":
            return "pod has unbound immediate PersistentVolumeClaims"
    return None


def _terms(spec: Obj, kind: str) -> list[Obj]:
    section = (spec.get("affinity") or {}).get(kind) or {}
    return list(section.get("requiredDuringSchedulingIgnoredDuringExecution") or ())


def _selected(term: Obj, pod_namespace: str, other: Obj) -> bool:
    namespaces = term.get("namespaces") or [pod_namespace]
    if other["metadata"].get("namespace") not in namespaces:
        return False
    selector = term.get("labelSelector")
    if selector is not None and not selector.get("matchLabels") and not selector.get("matchExpressions"):
        return True  # an empty selector selects every pod of the namespaces
    return selector_matches(selector, other["metadata"].get("labels") or {})


def pod_affinity_reason(
    spec: Obj,
    pod: Obj,
    node_labels: dict[str, str],
    domain_pods: Callable[[str, str], Iterable[Obj]],
) -> str | None:
    """InterPodAffinity's filter for one node; `domain_pods(key, value)` lists pods in that topology domain."""
    namespace = pod["metadata"].get("namespace", "")
    for term in _terms(spec, "podAntiAffinity"):
        key = str(term.get("topologyKey", ""))
        if key in node_labels and any(
            _selected(term, namespace, other) for other in domain_pods(key, node_labels[key])
        ):
            return POD_ANTI_AFFINITY_REASON
    for term in _terms(spec, "podAffinity"):
        key = str(term.get("topologyKey", ""))
        if key not in node_labels:
            return POD_AFFINITY_REASON
        if any(_selected(term, namespace, other) for other in domain_pods(key, node_labels[key])):
            continue
        if _selected(term, namespace, pod) and not any(
            _selected(term, namespace, other) for other in domain_pods("", "")
        ):
            continue  # the first pod of a group that matches its own term may go anywhere
        return POD_AFFINITY_REASON
    return None
