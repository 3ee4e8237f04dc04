"""Where apply may write: a namespace allow-list, never the system namespaces, never the optimizer itself.

A recommendation for kube-system's own workloads (CoreDNS, kube-proxy) or for the optimizer's backend is
still worth reading, but applying it from a dashboard is how a cluster or the tool that would roll the
change back gets broken. The scope is decided here, purely, so the recommendation list can say why a
recommendation cannot be applied and the apply route can refuse with the same reason; RBAC (the apply
overlay's per-namespace RoleBindings) enforces the same boundary at the API server.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.domain.snapshot import ClusterSnapshot
from k8s_optimizer.recommend.model import AnalysisReport, Recommendation

SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})
PART_OF_LABEL = "app.kubernetes.io/part-of"
OWN_PART_OF = "k8s-service-optimizer"


@dataclass(frozen=True, slots=True)
class ApplyScope:
    """`namespaces` empty: every namespace but the system ones (kube-system, kube-public, kube-node-lease, kube-*)."""

    namespaces: frozenset[str] = frozenset()

    def refusal(self, target: ObjectRef, labels: Mapping[str, str]) -> str | None:
        """Why apply must not write `target` (an object with these labels), or None."""
        if labels.get(PART_OF_LABEL) == OWN_PART_OF:
            return f"{target.key()} is part of k8s-service-optimizer itself; the optimizer never patches itself"
        if self.namespaces:
            if target.namespace not in self.namespaces:
                allowed = ", ".join(sorted(self.namespaces))
                return f"namespace {target.namespace!r} is not in the apply allow-list ({allowed})"
            return None
        if target.namespace in SYSTEM_NAMESPACES or target.namespace.startswith("kube-"):
            return f"namespace {target.namespace!r} is a system namespace; apply never patches it"
        return None


def confine(report: AnalysisReport, snapshot: ClusterSnapshot, scope: ApplyScope) -> AnalysisReport:
    """The report with each recommendation outside the scope marked with the reason."""
    labels = {w.ref(): w.labels for w in snapshot.workloads.values()}
    marked = tuple(
        _marked(rec, scope.refusal(rec.target, labels.get(rec.target, {}))) for rec in report.recommendations
    )
    return dataclasses.replace(report, recommendations=marked)


def _marked(rec: Recommendation, reason: str | None) -> Recommendation:
    return rec if reason == rec.not_applicable_reason else dataclasses.replace(rec, not_applicable_reason=reason)
