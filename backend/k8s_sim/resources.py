"""Every resource type the embedded cluster serves, as discovery and the router see them."""

from __future__ import annotations

from k8s_sim.store import ResourceType

_READ_ONLY = ("get", "list")

NAMESPACES = ResourceType("", "v1", "namespaces", "Namespace", False, ("ns",), subresources=("status",))
NODES = ResourceType("", "v1", "nodes", "Node", False, ("no",), subresources=("status",))
PODS = ResourceType(
    "", "v1", "pods", "Pod", True, ("po",), subresources=("status", "log", "exec", "attach", "portforward")
)
SERVICES = ResourceType("", "v1", "services", "Service", True, ("svc",), subresources=("status",))
ENDPOINTS = ResourceType("", "v1", "endpoints", "Endpoints", True, ("ep",))
EVENTS = ResourceType("", "v1", "events", "Event", True, ("ev",))
CONFIGMAPS = ResourceType("", "v1", "configmaps", "ConfigMap", True, ("cm",))
SERVICEACCOUNTS = ResourceType("", "v1", "serviceaccounts", "ServiceAccount", True, ("sa",))
ENDPOINTSLICES = ResourceType("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True)
DEPLOYMENTS = ResourceType(
    "apps", "v1", "deployments", "Deployment", True, ("deploy",), subresources=("status", "scale")
)
REPLICASETS = ResourceType("apps", "v1", "replicasets", "ReplicaSet", True, ("rs",), subresources=("status", "scale"))
STATEFULSETS = ResourceType(
    "apps", "v1", "statefulsets", "StatefulSet", True, ("sts",), subresources=("status", "scale")
)
DAEMONSETS = ResourceType("apps", "v1", "daemonsets", "DaemonSet", True, ("ds",), subresources=("status",))
HPAS = ResourceType(
    "autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, ("hpa",), subresources=("status",)
)
PDBS = ResourceType(
    "policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ("pdb",), subresources=("status",)
)
LEASES = ResourceType("coordination.k8s.io", "v1", "leases", "Lease", True)
NETWORKPOLICIES = ResourceType("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True, ("netpol",))
CLUSTERROLES = ResourceType("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False)
_RBAC = "rbac.authorization.k8s.io"
CLUSTERROLEBINDINGS = ResourceType(_RBAC, "v1", "clusterrolebindings", "ClusterRoleBinding", False)
ROLES = ResourceType("rbac.authorization.k8s.io", "v1", "roles", "Role", True)
ROLEBINDINGS = ResourceType("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True)
POD_METRICS = ResourceType("metrics.k8s.io", "v1beta1", "pods", "PodMetrics", True, verbs=_READ_ONLY)
NODE_METRICS = ResourceType("metrics.k8s.io", "v1beta1", "nodes", "NodeMetrics", False, verbs=_READ_ONLY)
# Round two: the kinds users reach for next (controllers in controllers/batch.py, storage.py, quota.py, ...).
_ST = ("status",)
SECRETS = ResourceType("", "v1", "secrets", "Secret", True)
RESOURCEQUOTAS = ResourceType("", "v1", "resourcequotas", "ResourceQuota", True, ("quota",), subresources=_ST)
LIMITRANGES = ResourceType("", "v1", "limitranges", "LimitRange", True, ("limits",))
PVCS = ResourceType("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ("pvc",), subresources=_ST)
PVS = ResourceType("", "v1", "persistentvolumes", "PersistentVolume", False, ("pv",), subresources=_ST)
RCS = ResourceType(
    "", "v1", "replicationcontrollers", "ReplicationController", True, ("rc",), subresources=("status", "scale")
)
JOBS = ResourceType("batch", "v1", "jobs", "Job", True, subresources=_ST)
CRONJOBS = ResourceType("batch", "v1", "cronjobs", "CronJob", True, ("cj",), subresources=_ST)
INGRESSES = ResourceType("networking.k8s.io", "v1", "ingresses", "Ingress", True, ("ing",), subresources=_ST)
INGRESSCLASSES = ResourceType("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False)
STORAGECLASSES = ResourceType("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, ("sc",))
PRIORITYCLASSES = ResourceType("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", False, ("pc",))
_AUTHZ, _CREATE = "authorization.k8s.io", ("create",)
SELF_SUBJECT_ACCESS_REVIEWS = ResourceType(
    _AUTHZ, "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False, verbs=_CREATE
)
SELF_SUBJECT_RULES_REVIEWS = ResourceType(
    _AUTHZ, "v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview", True, verbs=_CREATE
)
SUBJECT_ACCESS_REVIEWS = ResourceType(_AUTHZ, "v1", "subjectaccessreviews", "SubjectAccessReview", False, verbs=_CREATE)
SELF_SUBJECT_REVIEWS = ResourceType(
    "authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", False, verbs=_CREATE
)

ALL: tuple[ResourceType, ...] = (
    NAMESPACES,
    NODES,
    PODS,
    SERVICES,
    ENDPOINTS,
    EVENTS,
    CONFIGMAPS,
    SERVICEACCOUNTS,
    ENDPOINTSLICES,
    DEPLOYMENTS,
    REPLICASETS,
    STATEFULSETS,
    DAEMONSETS,
    HPAS,
    PDBS,
    LEASES,
    NETWORKPOLICIES,
    CLUSTERROLES,
    CLUSTERROLEBINDINGS,
    ROLES,
    ROLEBINDINGS,
    POD_METRICS,
    NODE_METRICS,
    SECRETS,
    RESOURCEQUOTAS,
    LIMITRANGES,
    PVCS,
    PVS,
    RCS,
    JOBS,
    CRONJOBS,
    INGRESSES,
    INGRESSCLASSES,
    STORAGECLASSES,
    PRIORITYCLASSES,
    SELF_SUBJECT_ACCESS_REVIEWS,
    SELF_SUBJECT_RULES_REVIEWS,
    SUBJECT_ACCESS_REVIEWS,
    SELF_SUBJECT_REVIEWS,
)
