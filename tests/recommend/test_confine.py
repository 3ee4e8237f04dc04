"""The apply scope: system namespaces, the allow-list, the optimizer's own objects."""

from __future__ import annotations

import pytest

from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.recommend.confine import ApplyScope

OWN = {"app.kubernetes.io/part-of": "k8s-service-optimizer"}


@pytest.mark.parametrize(
    ("scope", "namespace", "labels", "reason"),
    [
        (ApplyScope(), "default", {}, None),
        (ApplyScope(), "k8s-optimizer", {"app": "echo-demo"}, None),
        (ApplyScope(), "kube-system", {}, "namespace 'kube-system' is a system namespace; apply never patches it"),
        (ApplyScope(), "kube-public", {}, "namespace 'kube-public' is a system namespace; apply never patches it"),
        (
            ApplyScope(),
            "kube-node-lease",
            {},
            "namespace 'kube-node-lease' is a system namespace; apply never patches it",
        ),
        (ApplyScope(), "kube-flannel", {}, "namespace 'kube-flannel' is a system namespace; apply never patches it"),
        (
            ApplyScope(),
            "k8s-optimizer",
            OWN,
            "Deployment/k8s-optimizer/web is part of k8s-service-optimizer itself; the optimizer never patches itself",
        ),
        (ApplyScope(frozenset({"shop", "kube-system"})), "kube-system", {}, None),  # an explicit choice
        (
            ApplyScope(frozenset({"shop", "blog"})),
            "default",
            {},
            "namespace 'default' is not in the apply allow-list (blog, shop)",
        ),
        (
            ApplyScope(frozenset({"k8s-optimizer"})),
            "k8s-optimizer",
            OWN,
            "Deployment/k8s-optimizer/web is part of k8s-service-optimizer itself; the optimizer never patches itself",
        ),
    ],
)
def test_refusal(scope: ApplyScope, namespace: str, labels: dict[str, str], reason: str | None) -> None:
    assert scope.refusal(ObjectRef("Deployment", namespace, "web"), labels) == reason
