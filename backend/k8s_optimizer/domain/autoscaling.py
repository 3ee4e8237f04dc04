"""The HorizontalPodAutoscaler read from API JSON, once, and the HPA controller's own settings.

Two programs read HPAs: the backend (through its Kubernetes adapter, `k8s/translate.py`, which adds
the status times) and the embedded cluster's HPA controller, which may share the pure core but never
the backend's adapters. Both call `hpa_from_json`, so an HPA means the same thing to the replay, the
API and the controller. The API server's defaulting (pkg/apis/autoscaling/v2/defaults.go) is applied
here exactly: minReplicas 1 only when absent (0 stays 0), the 80 % CPU metric only when
`spec.metrics` is empty, and a `behavior` block fills each unset field of each direction, leaving
the scale-down window unset for the controller to fill from its flag.

`HpaControllerConfig` is kube-controller-manager's `--horizontal-pod-autoscaler-*` flags (plus the two
constants of the legacy scale-up limit): a cluster that runs them differently is replayed with its values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from k8s_optimizer.domain.objects import (
    DEFAULT_CPU_UTILIZATION_PERCENT,
    DEFAULT_SCALE_DOWN,
    DEFAULT_SCALE_UP,
    HPA,
    HPACondition,
    HPAMetricTarget,
    LabelRequirement,
    LabelSelector,
    ObjectRef,
    ScalingPolicy,
    ScalingRules,
)
from k8s_optimizer.domain.quantities import QuantityError, parse_quantity

Json = Mapping[str, Any]
_EMPTY: Json = {}
_SOURCE_KEYS = {
    "Resource": "resource",
    "ContainerResource": "containerResource",
    "Pods": "pods",
    "Object": "object",
    "External": "external",
}
DEFAULT_METRICS = (HPAMetricTarget("Resource", "cpu", "Utilization", DEFAULT_CPU_UTILIZATION_PERCENT),)


class HpaControllerConfig(BaseModel):
    """kube-controller-manager's HPA settings (flag defaults; upstream's unit tests use other values)."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    tolerance: float = Field(0.1, ge=0, le=1)
    """--horizontal-pod-autoscaler-tolerance: usage ratios within 1 ± this change nothing."""
    cpu_initialization_period_seconds: float = Field(300.0, ge=0)
    """--horizontal-pod-autoscaler-cpu-initialization-period: CPU of pods younger than this is distrusted."""
    initial_readiness_delay_seconds: float = Field(30.0, ge=0)
    """--horizontal-pod-autoscaler-initial-readiness-delay: a pod unready this soon after start never was ready."""
    downscale_stabilization_seconds: int = Field(300, ge=0)
    """--horizontal-pod-autoscaler-downscale-stabilization: scale-down window when the HPA sets none."""
    scale_up_limit_factor: float = Field(2.0, ge=1)
    """Without `behavior`, one sync grows to at most max(factor × current, minimum) replicas."""
    scale_up_limit_minimum: float = Field(4.0, ge=1)
    """The minimum of that legacy scale-up limit."""
    sync_period_seconds: float = Field(15.0, gt=0)
    """--horizontal-pod-autoscaler-sync-period: how often the replay steps the controller."""


def tolerance_value(quantity: str) -> float:
    """A `behavior.*.tolerance` quantity ("50m", "0.05") as the float the controller compares with."""
    return float(parse_quantity(quantity))


def _quantity_text(value: object) -> str | None:
    """The quantity as written, if it is one (the API server rejects anything else)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = str(value)
    try:
        parse_quantity(text)
    except QuantityError:
        return None
    return text


def _number(resource: str | None, text: str | None) -> float | None:
    """Millicores for cpu, bytes (rounded up, as Quantity.Value()) for memory, the plain value otherwise."""
    if text is None:
        return None
    value = parse_quantity(text)
    if resource == "cpu":
        return float(value * 1000)
    if resource is not None:
        return float(math.ceil(value))
    return float(value)


def _int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _metric_selector(value: object) -> LabelSelector | None:
    if not isinstance(value, Mapping):
        return None
    labels = value.get("matchLabels") or _EMPTY
    expressions = tuple(
        LabelRequirement(
            str(item.get("key", "")), str(item.get("operator", "")), tuple(map(str, item.get("values") or ()))
        )
        for item in value.get("matchExpressions") or ()
    )
    return LabelSelector(tuple(sorted((str(k), str(v)) for k, v in labels.items())), expressions)


def metric_from_json(raw: Json, namespace: str) -> HPAMetricTarget:
    """One `spec.metrics` entry, every source kind kept as written."""
    kind = str(raw.get("type", ""))
    key = _SOURCE_KEYS.get(kind)
    if key is None:
        return HPAMetricTarget(type=kind)
    source = raw.get(key) or _EMPTY
    target = source.get("target") or _EMPTY
    metric = source.get("metric") or _EMPTY
    resource = str(source["name"]) if kind in ("Resource", "ContainerResource") and source.get("name") else None
    average_text = _quantity_text(target.get("averageValue"))
    value_text = _quantity_text(target.get("value"))
    described = source.get("describedObject") if kind == "Object" else None
    return HPAMetricTarget(
        type=kind,
        resource=resource,
        target_type=str(target.get("type") or "Utilization"),
        average_utilization=_int(target.get("averageUtilization")),
        average_value=_number(resource, average_text),
        container=str(source["container"]) if source.get("container") else None,
        value=_number(resource, value_text),
        metric_name=str(metric["name"]) if metric.get("name") else None,
        metric_selector=_metric_selector(metric.get("selector")),
        described_object=ObjectRef(str(described.get("kind", "")), namespace, str(described.get("name", "")))
        if isinstance(described, Mapping)
        else None,
        described_object_api_version=str(described["apiVersion"])
        if isinstance(described, Mapping) and described.get("apiVersion")
        else None,
        average_value_quantity=average_text,
        value_quantity=value_text,
    )


def _policy(raw: Json) -> ScalingPolicy:
    return ScalingPolicy(
        type=cast(Literal["Pods", "Percent"], str(raw.get("type", "Pods"))),
        value=_int(raw.get("value")) or 0,
        period_seconds=_int(raw.get("periodSeconds")) or 0,
    )


def rules_from_json(raw: object, default: ScalingRules) -> ScalingRules:
    """copyHPAScalingRules: every field the HPA sets wins, the rest comes from the default."""
    if not isinstance(raw, Mapping):
        return default
    window = raw.get("stabilizationWindowSeconds")
    policies = raw.get("policies")
    select = raw.get("selectPolicy")
    tolerance = raw.get("tolerance")
    return ScalingRules(
        stabilization_window_seconds=default.stabilization_window_seconds if window is None else int(window),
        select_policy=cast(Literal["Max", "Min", "Disabled"], str(select)) if select else default.select_policy,
        policies=default.policies if policies is None else tuple(_policy(p) for p in policies),
        tolerance=default.tolerance if tolerance is None else _quantity_text(tolerance),
    )


def behavior_from_json(raw: object) -> tuple[ScalingRules | None, ScalingRules | None]:
    """(scale_up, scale_down): both None without `behavior` (the legacy path), both defaulted with it."""
    if not isinstance(raw, Mapping):
        return None, None
    return rules_from_json(raw.get("scaleUp"), DEFAULT_SCALE_UP), rules_from_json(
        raw.get("scaleDown"), DEFAULT_SCALE_DOWN
    )


def _current_cpu_utilization(status: Json) -> int | None:
    for metric in status.get("currentMetrics") or ():
        resource = metric.get("resource") or _EMPTY
        if metric.get("type") == "Resource" and resource.get("name") == "cpu":
            current = resource.get("current") or _EMPTY
            return _int(current.get("averageUtilization"))
    return None


def hpa_from_json(obj: Json) -> HPA:
    """An autoscaling/v2 HorizontalPodAutoscaler (defaulted or not) → the domain HPA (status times aside)."""
    meta = obj.get("metadata") or _EMPTY
    namespace = str(meta.get("namespace", ""))
    spec = obj.get("spec") or _EMPTY
    status = obj.get("status") or _EMPTY
    target = spec.get("scaleTargetRef") or _EMPTY
    min_replicas = _int(spec.get("minReplicas"))
    scale_up, scale_down = behavior_from_json(spec.get("behavior"))
    metrics = tuple(metric_from_json(raw, namespace) for raw in spec.get("metrics") or ())
    return HPA(
        namespace=namespace,
        name=str(meta.get("name", "")),
        target=ObjectRef(str(target.get("kind", "")), namespace, str(target.get("name", ""))),
        min_replicas=1 if min_replicas is None else min_replicas,
        max_replicas=_int(spec.get("maxReplicas")) or 1,
        metrics=metrics or DEFAULT_METRICS,
        scale_up=scale_up,
        scale_down=scale_down,
        current_replicas=_int(status.get("currentReplicas")),
        desired_replicas=_int(status.get("desiredReplicas")),
        current_cpu_utilization_percent=_current_cpu_utilization(status),
        conditions=tuple(
            HPACondition(
                str(c.get("type", "")),
                str(c.get("status", "")),
                str(c.get("reason") or ""),
                str(c.get("message") or ""),
            )
            for c in status.get("conditions") or ()
        ),
    )
