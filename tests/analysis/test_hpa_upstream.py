"""kube-controller-manager's own HPA test tables, carried over with their expected values unchanged.

From kubernetes/kubernetes `pkg/controller/podautoscaler/replica_calculator_test.go` (TestReplicaCalcResourceScale,
the CM/Object/External cases, tolerance and configurable-tolerance cases, missing-metric cases), `horizontal_test.go`
(TestScalingWithRules, TestStoreScaleEvents, TestNormalizeDesiredReplicas, calculateScaleDownLimit with Min) and
`pkg/apis/autoscaling/v2/defaults_test.go` (TestGenerateScaleUpRules / TestGenerateScaleDownRules).

Their fixtures, as they build them: every pod has two containers ("container1", "container2"), each requesting the
pod's request; the metric levels are per container; a pod's start time is the zero time unless "hot" (now) or
"cool" (now − 3 min); its Ready condition's last transition is the zero time; metrics are stamped with the zero
time and a 1 min window. The controller settings are the tests' own: tolerance 0.1, CPU initialisation period
2 min, initial readiness delay 10 s.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import pytest

from k8s_optimizer.analysis.hpa import (
    HpaState,
    MetricReadings,
    PodReading,
    ScaleEvent,
    Tolerances,
    metric_replicas,
    plain_replicas,
    resource_replicas,
    value_replicas,
)
from k8s_optimizer.domain.autoscaling import HpaControllerConfig, rules_from_json
from k8s_optimizer.domain.objects import (
    DEFAULT_SCALE_DOWN,
    DEFAULT_SCALE_UP,
    HPA,
    HPAMetricTarget,
    ObjectRef,
    ScalingPolicy,
    ScalingRules,
)

UPSTREAM_TEST_CONFIG = HpaControllerConfig(
    tolerance=0.1, cpu_initialization_period_seconds=120, initial_readiness_delay_seconds=10
)
NOW = 1_000_000.0
ZERO = 0.0  # Go's zero time, far before NOW
HOT = NOW  # hotCPUCreationTime(): time.Now()
COOL = NOW - 180  # coolCPUCreationTime(): time.Now() - 3 min
CONTAINERS = ("container1", "container2")


def tolerances(down: float = 0.1, up: float = 0.1) -> Tolerances:
    """Go's Tolerances{scaleDown, scaleUp} (in that order)."""
    return Tolerances(up=up, down=down)


@dataclass
class Scenario:
    """calcScenario: pods 0..n-1 with readiness, start time, phase, deletion; per-container CPU levels."""

    current: int
    requests_milli: Sequence[int] = ()
    levels: Sequence[Sequence[int]] = ()
    readiness: Sequence[str] = ()
    start: Sequence[float] = ()
    phase: Sequence[str] = ()
    deleting: Sequence[bool] = ()
    container: str = ""
    pod_names: Sequence[str] = field(default_factory=list)

    def pods(self) -> list[PodReading]:
        count = max(self.current, len(self.phase))
        return [self._pod(index) for index in range(count)]

    def _usage(self, index: int) -> int | None:
        if index >= len(self.levels):
            return None
        per_container = self.levels[index]
        if self.container:
            position = CONTAINERS.index(self.container)
            return per_container[position] if position < len(per_container) else None
        return sum(per_container)

    def _pod(self, index: int) -> PodReading:
        request = self.requests_milli[index] if index < len(self.requests_milli) else None
        usage = self._usage(index) if not self.pod_names else None
        return PodReading(
            name=f"test-pod-{index}",
            requests_milli=dict.fromkeys(CONTAINERS, request),
            usage_milli=usage,
            phase=self.phase[index] if self.phase else "Running",
            deleting=bool(self.deleting and self.deleting[index]),
            ready=self.readiness[index] if index < len(self.readiness) else "True",
            start_seconds=self.start[index] if self.start else ZERO,
            ready_transition_seconds=ZERO,
            metric_timestamp_seconds=ZERO,
            metric_window_seconds=60.0,
        )


def cpu_metric(target_percent: int, container: str = "") -> HPAMetricTarget:
    kind = "ContainerResource" if container else "Resource"
    return HPAMetricTarget(kind, "cpu", "Utilization", target_percent, container=container or None)


def resource_case(scenario: Scenario, target: int, tol: Tolerances | None = None) -> tuple[int, int | None, int | None]:
    result = resource_replicas(
        scenario.current,
        cpu_metric(target, scenario.container),
        scenario.pods(),
        NOW,
        tol or tolerances(),
        UPSTREAM_TEST_CONFIG,
    )
    return result.replicas, result.utilization_percent, result.average_value_milli


G = 1000  # "1.0" → 1000 m

# TestReplicaCalcResourceScale: (name, scenario, targetUtilization, replicas, utilization, raw value)
RESOURCE_SCALE = [
    ("scale up", Scenario(3, [G] * 3, [[300] * 2, [500] * 2, [700] * 2]), 30, 5, 50, 2 * 500),
    ("scale up: container metric", Scenario(3, [G] * 3, [[1000, 300], [1000, 500], [1000, 700]], container="container2"), 30, 5, 50, 500),  # noqa: E501
    ("scale up: unready pod scales less", Scenario(3, [G] * 3, [[300] * 2, [500] * 2, [700] * 2], readiness=["False", "True", "True"]), 30, 4, 60, 2 * 600),  # noqa: E501
    ("scale up: hot-CPU container scales less", Scenario(3, [G] * 3, [[0, 300], [0, 500], [0, 700]], start=[HOT, COOL, COOL], container="container2"), 30, 4, 60, 600),  # noqa: E501
    ("scale up: hot-CPU pod scales less", Scenario(3, [G] * 3, [[300] * 2, [500] * 2, [700] * 2], start=[HOT, COOL, COOL]), 30, 4, 60, 2 * 600),  # noqa: E501
    ("no scale: unready pods ignored", Scenario(3, [G] * 3, [[400] * 2, [500] * 2, [700] * 2], readiness=["True", "False", "False"]), 30, 3, 40, 2 * 400),  # noqa: E501
    ("no scale: hot-CPU pods ignored", Scenario(3, [G] * 3, [[400] * 2, [500] * 2, [700] * 2], readiness=["True", "False", "False"], start=[COOL, HOT, HOT]), 30, 3, 40, 2 * 400),  # noqa: E501
    ("scale up: failed pods ignored", Scenario(2, [G] * 4, [[500] * 2, [700] * 2], readiness=["True", "True", "False", "False"], phase=["Running", "Running", "Failed", "Failed"]), 30, 4, 60, 2 * 600),  # noqa: E501
    ("scale up: failed pods ignored with missing container metric", Scenario(2, [G] * 4, [[1000, 500], [9000, 700], [1000], [9000]], readiness=["True", "True", "False", "False"], phase=["Running", "Running", "Failed", "Failed"], container="container2"), 30, 4, 60, 600),  # noqa: E501
    ("scale up: container metrics with failed pods ignored", Scenario(2, [G] * 4, [[1000, 500], [9000, 700]], readiness=["True", "True", "False", "False"], phase=["Running", "Running", "Failed", "Failed"], container="container2"), 30, 4, 60, 600),  # noqa: E501
    ("scale up: pods being deleted are ignored", Scenario(2, [G] * 4, [[500] * 2, [700] * 2], readiness=["True", "True", "False", "False"], phase=["Running"] * 4, deleting=[False, False, True, True]), 30, 4, 60, 2 * 600),  # noqa: E501
    ("scale up: container metrics with pods being deleted ignored", Scenario(2, [G] * 4, [[500] * 2, [700] * 2], readiness=["True", "True", "False", "False"], phase=["Running"] * 4, deleting=[False, False, True, True], container="container1"), 30, 4, 60, 600),  # noqa: E501
    ("scale down", Scenario(5, [G] * 5, [[100] * 2, [300] * 2, [500] * 2, [250] * 2, [250] * 2]), 50, 3, 28, 2 * 280),
    ("scale down: container metric", Scenario(5, [G] * 5, [[1000, 100], [1000, 300], [1000, 500], [1000, 250], [1000, 250]], container="container2"), 50, 3, 28, 280),  # noqa: E501
    ("scale down: exclude unready pods", Scenario(5, [G] * 5, [[100] * 2, [300] * 2, [500] * 2, [250] * 2, [250] * 2], readiness=["True", "True", "True", "False", "False"]), 50, 2, 30, 2 * 300),  # noqa: E501
    ("scale down: container metric excludes unready pods", Scenario(5, [G] * 5, [[1000, 100], [1000, 300], [1000, 500], [1000, 250], [1000, 250]], readiness=["True", "True", "True", "False", "False"], container="container2"), 50, 2, 30, 300),  # noqa: E501
    ("scale down: exclude unscheduled pods", Scenario(5, [G] * 5, [[100] * 2], readiness=["True"] + ["False"] * 4, phase=["Running"] + ["Pending"] * 4), 50, 1, 10, 2 * 100),  # noqa: E501
    ("scale down: container metric excludes unscheduled pods", Scenario(5, [G] * 5, [[1000, 100], [1000, 300], [1000, 500], [1000, 250], [1000, 250]], readiness=["True"] + ["False"] * 4, phase=["Running"] + ["Pending"] * 4, container="container2"), 50, 1, 10, 100),  # noqa: E501
    ("scale down: ignore hot-CPU pods", Scenario(5, [G] * 5, [[100] * 2, [300] * 2, [500] * 2, [250] * 2, [250] * 2], start=[COOL, COOL, COOL, HOT, HOT]), 50, 2, 30, 2 * 300),  # noqa: E501
    ("scale down: container metric ignores hot-CPU pods", Scenario(5, [G] * 5, [[1000, 100], [1000, 300], [1000, 500], [1000, 1000], [1000, 1000]], start=[COOL, COOL, COOL, HOT, HOT], container="container2"), 50, 2, 30, 300),  # noqa: E501
    ("scale down: failed pods ignored", Scenario(5, [G] * 7, [[100] * 2, [300] * 2, [500] * 2, [250] * 2, [250] * 2], readiness=["True"] * 5 + ["False"] * 2, phase=["Running"] * 5 + ["Failed"] * 2), 50, 3, 28, 2 * 280),  # noqa: E501
    ("scale down: container metric with failed pods ignored", Scenario(5, [G] * 7, [[1000, 100], [1000, 300], [1000, 500], [1000, 250], [1000, 250]], readiness=["True"] * 5 + ["False"] * 2, phase=["Running"] * 5 + ["Failed"] * 2, container="container2"), 50, 3, 28, 280),  # noqa: E501
    ("scale down: pods being deleted are ignored", Scenario(5, [G] * 7, [[100] * 2, [300] * 2, [500] * 2, [250] * 2, [250] * 2], readiness=["True"] * 5 + ["False"] * 2, phase=["Running"] * 7, deleting=[False] * 5 + [True] * 2), 50, 3, 28, 2 * 280),  # noqa: E501
    ("scale down: still-running pods being deleted are ignored", Scenario(5, [G] * 7, [[1000, 100], [1000, 300], [1000, 500], [1000, 250], [1000, 250]], readiness=["True"] * 5 + ["False"] * 2, phase=["Running"] * 7, deleting=[False] * 5 + [True] * 2, container="container2"), 50, 3, 28, 280),  # noqa: E501
    # TestReplicaCalcTolerance, TestReplicaCalcSuperfluousMetrics, TestReplicaCalcMissingMetrics*
    ("tolerance", Scenario(3, [900, 1000, 1100], [[1010] * 2, [1030] * 2, [1020] * 2]), 100, 3, 102, 2 * 1020),
    ("superfluous metrics", Scenario(4, [G] * 4, [[4000] * 2, [9500] * 2, [3000] * 2, [7000] * 2]), 100, 24, 587, 2 * 5875),  # noqa: E501
    ("missing metrics", Scenario(4, [G] * 4, [[400] * 2, [95] * 2]), 100, 3, 24, 495),
    ("missing metrics, no change: ratio exactly 1", Scenario(2, [G] * 2, [[1000] * 2]), 100, 2, 100, 2 * 1000),
    ("missing metrics, no change: above", Scenario(2, [G] * 2, [[1900] * 2]), 100, 2, 190, 2 * 1900),
    ("missing metrics, no change: below", Scenario(2, [G] * 2, [[600] * 2]), 100, 2, 60, 2 * 600),
    ("missing metrics, unready: no change", Scenario(3, [G] * 3, [[100] * 2, [450] * 2], readiness=["False", "True", "True"]), 50, 3, 45, 2 * 450),  # noqa: E501
    ("missing metrics, hot CPU: no change", Scenario(3, [G] * 3, [[100] * 2, [450] * 2], start=[HOT, COOL, COOL]), 50, 3, 45, 2 * 450),  # noqa: E501
    ("missing metrics, unready: scale up", Scenario(3, [G] * 3, [[100] * 2, [2000] * 2], readiness=["False", "True", "True"]), 50, 4, 200, 2 * 2000),  # noqa: E501
    ("missing metrics, hot CPU: scale up", Scenario(3, [G] * 3, [[100] * 2, [2000] * 2], readiness=["False", "True", "True"], start=[HOT, COOL, COOL]), 50, 4, 200, 2 * 2000),  # noqa: E501
    ("missing metrics, unready: scale down", Scenario(4, [G] * 4, [[100] * 2, [100] * 2, [100] * 2], readiness=["False", "True", "True", "True"]), 50, 3, 10, 2 * 100),  # noqa: E501
    ("missing metrics, scale down, target over 100", Scenario(4, [1000, 1000, 2000, 2000], [[200] * 2, [100] * 2, [100] * 2], readiness=["False", "True", "True", "True"]), 300, 2, 6, 2 * 100),  # noqa: E501
    ("rolling update with max surge", Scenario(2, [G] * 3, [[100] * 2, [100] * 2], phase=["Running"] * 3), 50, 2, 10, 2 * 100),  # noqa: E501
]  # fmt: skip


@pytest.mark.parametrize(
    ("scenario", "target", "replicas", "utilization", "raw"),
    [case[1:] for case in RESOURCE_SCALE],
    ids=[case[0] for case in RESOURCE_SCALE],
)
def test_replica_calc_resource(scenario: Scenario, target: int, replicas: int, utilization: int, raw: int) -> None:
    assert resource_case(scenario, target) == (replicas, utilization, raw)


# TestReplicaCalcConfigurableTolerance: Tolerances{scaleDown, scaleUp}
CONFIGURABLE = [
    ("outside of a 0% tolerance", tolerances(0.0, 0.0), [909, 1010, 1111], 4, 101, 1010),
    ("within a 200% scale-up tolerance", tolerances(0.1, 2.0), [1890, 1910, 1900], 3, 190, 1900),
    ("outside 8% scale-up tolerance", tolerances(2.0, 0.08), [1100, 1080, 1090], 4, 109, 1090),
    ("within a 36% scale-down tolerance", tolerances(0.36, 0.1), [660, 640, 650], 3, 65, 650),
    ("outside a 34% scale-down tolerance", tolerances(0.34, 0.1), [660, 640, 650], 2, 65, 650),
]


@pytest.mark.parametrize(
    ("tol", "levels", "replicas", "utilization", "value"),
    [c[1:] for c in CONFIGURABLE],
    ids=[c[0] for c in CONFIGURABLE],
)
def test_replica_calc_configurable_tolerance(
    tol: Tolerances, levels: list[int], replicas: int, utilization: int, value: int
) -> None:
    scenario = Scenario(3, [900, 1000, 1100], [[level] * 2 for level in levels])
    assert resource_case(scenario, 100, tol) == (replicas, utilization, 2 * value)


def test_replica_calc_errors() -> None:
    # TestReplicaCalcDisjointResourcesMetrics: the only metric belongs to a pod that no longer exists
    disjoint = Scenario(1, [G], [[100] * 2], pod_names=["an-older-pod-name"])
    result = metric_replicas(1, cpu_metric(100), disjoint.pods(), NOW, tolerances(), UPSTREAM_TEST_CONFIG)
    assert (
        result.error
        == "failed to get cpu utilization: did not receive metrics for targeted pods (pods might be unready)"
    )
    # TestReplicaCalcEmptyCPURequest
    empty = Scenario(1, [], [[200] * 2])
    result = metric_replicas(1, cpu_metric(100), empty.pods(), NOW, tolerances(), UPSTREAM_TEST_CONFIG)
    assert result.error is not None
    assert result.error.startswith("failed to get cpu utilization: missing request for")
    # a container metric naming a container the pod does not have is an error, never a request of 0
    missing = Scenario(1, [G], [[100, 100]], container="container2")
    no_such = HPAMetricTarget("ContainerResource", "cpu", "Utilization", 50, container="sidecar")
    result = metric_replicas(1, no_such, missing.pods(), NOW, tolerances(), UPSTREAM_TEST_CONFIG)
    assert result.error == "failed to get cpu utilization: container sidecar not found in Pod test-pod-0"


# -- Pods ("CM"), Object and External metrics ----------------------------------------------------------------
def pods_metric(levels: Sequence[int], current: int, target: int, **kw: object) -> int:
    scenario = Scenario(current, levels=[[level] for level in levels], **kw)  # type: ignore[arg-type]
    metric = HPAMetricTarget("Pods", target_type="AverageValue", metric_name="qps")
    result = plain_replicas(current, metric, target, scenario.pods(), NOW, tolerances(), UPSTREAM_TEST_CONFIG)
    return result.replicas


def test_replica_calc_pods_metrics() -> None:
    assert pods_metric([20000, 10000, 30000], 3, 15000) == 4  # TestReplicaCalcScaleUpCM
    # unready/hot pods do not matter for non-CPU metrics
    assert (
        pods_metric([50000, 10000, 30000], 3, 15000, readiness=["True", "True", "False"], start=[COOL, COOL, HOT]) == 6
    )
    assert (
        pods_metric([50000, 15000, 30000], 3, 15000, readiness=["False", "True", "False"], start=[HOT, COOL, HOT]) == 7
    )
    assert pods_metric([12000] * 5, 5, 20000) == 3  # TestReplicaCalcScaleDownCM
    assert pods_metric([20000, 21000, 21000], 3, 20000) == 3  # TestReplicaCalcToleranceCM
    # TestPlainMetricReplicaCalcMissingMetricsNoChangeEq: average exactly on target with missing pods → keep 5
    assert pods_metric([20000, 19000, 21000], 5, 20000) == 5
    # TestReplicaCalcDuringRollingUpdateWithMaxSurgeCM
    assert pods_metric([10000, 10000], 2, 17000, phase=["Running"] * 3) == 2


def test_replica_calc_configurable_tolerance_pods_metric() -> None:
    scenario = Scenario(3, levels=[[20000], [21000], [21000]])
    metric = HPAMetricTarget("Pods", target_type="AverageValue", metric_name="qps")
    result = plain_replicas(3, metric, 20000, scenario.pods(), NOW, tolerances(0.1, 0.01), UPSTREAM_TEST_CONFIG)
    assert (result.replicas, result.average_value_milli) == (4, 20666)


def _object(target_type: str, milli: int) -> HPAMetricTarget:
    quantity = f"{milli}m"
    if target_type == "Value":
        return HPAMetricTarget("Object", target_type="Value", metric_name="qps", value_quantity=quantity)
    return HPAMetricTarget("Object", target_type="AverageValue", metric_name="qps", average_value_quantity=quantity)


def _ready(current: int, readiness: Sequence[str] = ()) -> list[PodReading]:
    return Scenario(current, readiness=readiness).pods()


@pytest.mark.parametrize(
    ("name", "current", "usage", "target_type", "target", "readiness", "tol", "replicas", "expected_usage"),
    [
        ("ScaleUpCMObject", 3, 20000, "Value", 15000, (), tolerances(), 4, 20000),
        ("ScaleUpCMPerPodObject", 3, 20000, "AverageValue", 5000, (), tolerances(), 4, 6667),
        (
            "ScaleUpCMObjectIgnoresUnreadyPods",
            3,
            50000,
            "Value",
            10000,
            ("False", "True", "False"),
            tolerances(),
            5,
            50000,
        ),
        (
            "ScaleUpCMExternalIgnoresUnreadyPods",
            3,
            8600,
            "Value",
            4400,
            ("False", "True", "False"),
            tolerances(),
            2,
            8600,
        ),
        ("ScaleUpPerPodCMExternal", 3, 8600, "AverageValue", 2150, (), tolerances(), 4, 2867),
        ("ScaleDownPerPodCMObject", 5, 6000, "AverageValue", 2000, (), tolerances(), 3, 1200),
        ("ScaleDownCMObject", 5, 12000, "Value", 20000, (), tolerances(), 3, 12000),
        ("ScaleDownCMExternal", 5, 8600, "Value", 14334, (), tolerances(), 3, 8600),
        ("ScaleDownPerPodCMExternal", 5, 8600, "AverageValue", 2867, (), tolerances(), 3, 1720),
        ("ToleranceCMObject", 3, 20666, "Value", 20000, (), tolerances(), 3, 20666),
        ("TolerancePerPodCMObject", 4, 20166, "AverageValue", 5000, (), tolerances(), 4, 5042),
        ("ToleranceCMExternal", 3, 8600, "Value", 8888, (), tolerances(), 3, 8600),
        ("TolerancePerPodCMExternal", 3, 8600, "AverageValue", 2900, (), tolerances(), 3, 2867),
        ("ConfigurableToleranceCMObject", 3, 20666, "Value", 20000, (), tolerances(0.1, 0.01), 4, 20666),
        ("ConfigurableTolerancePerPodCMObject", 4, 20208, "AverageValue", 5000, (), tolerances(0.1, 0.01), 5, 5052),
        ("ConfigurableToleranceCMExternal", 3, 8900, "Value", 8800, (), tolerances(0.1, 0.01), 4, 8900),
        ("ConfigurableTolerancePerPodCMExternal", 3, 8600, "AverageValue", 2800, (), tolerances(0.1, 0.01), 4, 2867),
    ],
)
def test_replica_calc_object_and_external(
    name: str,
    current: int,
    usage: int,
    target_type: str,
    target: int,
    readiness: tuple[str, ...],
    tol: Tolerances,
    replicas: int,
    expected_usage: int,
) -> None:
    result = value_replicas(current, _object(target_type, target), usage, _ready(current, readiness), tol)
    reported = result.average_value_milli if target_type == "AverageValue" else result.value_milli
    assert (result.replicas, reported) == (replicas, expected_usage), name


def test_replica_calc_computed_tolerance_alg_implementation() -> None:
    # TestReplicaCalcComputedToleranceAlgImplementation, computed exactly as the Go test computes it
    start_pods = 10
    used = start_pods * 150
    requested = 2 * used
    requested_to_used = float(requested // used)
    per_pod = requested // start_pods
    target = abs(1 / (requested_to_used * (1 - 0.1))) + 0.01
    percent = int(target * 100)
    final_pods = math.ceil(used / (requested * target) * start_pods)
    offsets = [100, -100, 10, -10, 2, -2, 1, -1, 0, 0]
    scenario = Scenario(start_pods, [per_pod + o for o in offsets], [[used // 10] * 2] * 10)
    assert resource_case(scenario, percent) == (final_pods, used * 100 // requested, 2 * used // 10)
    near = int((abs(1 / (requested_to_used * (1 - 0.1))) + 0.004) * 100)
    assert resource_case(scenario, near)[0] == start_pods


# -- horizontal.go: rate limits with behaviors (TestScalingWithRules) ------------------------------------------
def generate_scaling_rules(pods: int, pods_period: int, percent: int, percent_period: int, window: int) -> ScalingRules:
    policies = []
    if pods:
        policies.append(ScalingPolicy("Pods", pods, pods_period))
    if percent:
        policies.append(ScalingPolicy("Percent", percent, percent_period))
    return ScalingRules(window, "Max", tuple(policies))


def uniform_events(changes: Sequence[int], period_seconds: int) -> list[ScaleEvent]:
    """generateEventsUniformDistribution: each event at the centre of its share of the last period."""
    segment = period_seconds / len(changes)
    return [
        ScaleEvent(NOW - (period_seconds - segment * (index + 1) + segment / 2), change)
        for index, change in enumerate(changes)
    ]


def _hpa(minimum: int, maximum: int, up: ScalingRules, down: ScalingRules) -> HPA:
    return HPA(
        "test-namespace", "test-hpa", ObjectRef("Deployment", "test-namespace", "web"), minimum, maximum, (), up, down
    )


SCALING_WITH_RULES = [
    # (name, up events, down events, min, max, up rules, down rules, current, prenormalized, expected, condition)
    ("prenormalized desired replicas within range", (), (), 3, 8, None, None, 5, 7, 7, "DesiredWithinRange"),
    ("prenormalized desired replicas < minReplicas", (), (), 2, 8, None, None, 3, 1, 2, "TooFewReplicas"),
    ("within range when minReplicas is 0", (), (), 0, 10, None, None, 1, 0, 0, "DesiredWithinRange"),
    ("maxReplicas is the limit because maxReplicas < scaleUpLimit", (), (), 1, 10, None, None, 20, 1000, 10, "TooManyReplicas"),  # noqa: E501
    ("desired replica count is more than the maximum replica count", (), (), 100, 150, None, None, 100, 1000, 150, "TooManyReplicas"),  # noqa: E501
    ("scaleUpLimit < maxReplicas with user policies", (), (), 1, 2000, (0, 0, 1, 60, 0), None, 3, 1000, 4, "ScaleUpLimit"),  # noqa: E501
    ("scaleUp with default behavior", (), (), 1, 1000, None, None, 10, 50, 20, "ScaleUpLimit"),
    ("scaleUp with pods policy larger than percent policy", (), (), 1, 1000, (100, 60, 100, 60, 0), None, 10, 500, 110, "ScaleUpLimit"),  # noqa: E501
    ("scaleUp with percent policy larger than pods policy", (), (), 1, 1000, (2, 60, 100, 60, 0), None, 10, 500, 20, "ScaleUpLimit"),  # noqa: E501
    ("scaleUp with spec MaxReplicas limitation with large pod policy", (), (), 1, 1000, (100, 60, 0, 0, 0), None, 10, 50, 50, "DesiredWithinRange"),  # noqa: E501
    ("scaleUp with spec MaxReplicas limitation with large percent policy", (), (), 1, 1000, (10000, 60, 0, 0, 0), None, 10, 50, 50, "DesiredWithinRange"),  # noqa: E501
    ("scaleUp with pod policy limitation", (), (), 1, 1000, (30, 60, 0, 0, 0), None, 10, 50, 40, "ScaleUpLimit"),
    ("scaleUp with percent policy limitation", (), (), 1, 1000, (0, 0, 200, 60, 0), None, 10, 50, 30, "ScaleUpLimit"),
    ("scaleDown with percent policy larger than pod policy", (), (), 1, 1000, None, (20, 60, 1, 60, 300), 100, 2, 80, "ScaleDownLimit"),  # noqa: E501
    ("scaleDown with pod policy larger than percent policy", (), (), 1, 1000, None, (2, 60, 1, 60, 300), 100, 2, 98, "ScaleDownLimit"),  # noqa: E501
    ("scaleDown with spec MinReplicas=nil limitation with large pod policy", (), (), 1, 1000, None, (100, 60, 0, 0, 300), 10, 0, 1, "TooFewReplicas"),  # noqa: E501
    ("scaleDown with spec MinReplicas limitation with large percent policy", (), (), 5, 1000, None, (0, 0, 100, 60, 300), 10, 2, 5, "TooFewReplicas"),  # noqa: E501
    ("scaleDown with pod policy limitation", (), (), 1, 1000, None, (5, 60, 0, 0, 300), 10, 2, 5, "ScaleDownLimit"),
    ("scaleDown with percent policy limitation", (), (), 1, 1000, None, (0, 0, 50, 60, 300), 10, 5, 5, "DesiredWithinRange"),  # noqa: E501
    ("scaleUp MaxReplicas limitation, large pod policy and events", ([1, 5, 9], 120), (), 1, 200, (300, 60, 0, 0, 0), None, 100, 500, 200, "TooManyReplicas"),  # noqa: E501
    ("scaleUp MaxReplicas limitation, large percent policy and events", ([1, 5, 9], 120), (), 1, 200, (0, 0, 10000, 60, 0), None, 100, 500, 200, "TooManyReplicas"),  # noqa: E501
    ("scaleUp with currentReplicas limitation with a lot of recent scale up events", ([1, 5, 9], 120), (), 1, 1000, (5, 120, 0, 0, 0), None, 100, 500, 100, "ScaleUpLimit"),  # noqa: E501
    ("scaleUp with pod policy and previous scale up events", ([1, 5, 9], 120), (), 1, 1000, (150, 120, 0, 0, 0), None, 100, 500, 235, "ScaleUpLimit"),  # noqa: E501
    ("scaleUp with percent policy and previous scale up events", ([1, 5, 9], 120), (), 1, 1000, (0, 0, 200, 120, 0), None, 100, 500, 255, "ScaleUpLimit"),  # noqa: E501
    ("scaleUp with percent policy and previous scale up and down events", ([4], 120), ([2], 120), 1, 1000, (0, 0, 300, 300, 0), None, 6, 24, 16, "ScaleUpLimit"),  # noqa: E501
    ("scaleDown with default policy and previous events", (), ([1, 5, 9], 120), 1, 1000, None, None, 10, 5, 5, "DesiredWithinRange"),  # noqa: E501
    ("scaleDown MinReplicas=nil limitation, large pod policy, previous events", (), ([1, 5, 9], 120), 1, 1000, None, (115, 120, 0, 0, 300), 100, 0, 1, "TooFewReplicas"),  # noqa: E501
    ("scaleDown MinReplicas limitation, large pod policy, previous events", (), ([1, 5, 9], 120), 5, 1000, None, (130, 120, 0, 0, 300), 100, 0, 5, "TooFewReplicas"),  # noqa: E501
    ("scaleDown MinReplicas limitation, large percent policy, previous events", (), ([1, 5, 9], 120), 5, 1000, None, (0, 0, 100, 120, 300), 100, 2, 5, "TooFewReplicas"),  # noqa: E501
    ("scaleDown with pod policy limitation and previous events", (), ([1, 5, 9], 120), 1, 1000, None, (5, 120, 0, 0, 300), 100, 2, 100, "ScaleDownLimit"),  # noqa: E501
    ("scaleDown with percent policy limitation and previous events", (), ([2, 4, 6], 120), 1, 1000, None, (0, 0, 50, 120, 300), 100, 0, 56, "ScaleDownLimit"),  # noqa: E501
    ("scaleDown with percent policy and previous scale up and down events", ([2], 120), ([4], 120), 1, 1000, None, (0, 0, 50, 180, 0), 10, 1, 6, "ScaleDownLimit"),  # noqa: E501
    ("scaleDown with previous events preventing further scale down", (), ([10, 10, 10], 120), 1, 1000, None, (0, 0, 10, 120, 300), 100, 0, 100, "ScaleDownLimit"),  # noqa: E501
    ("scaleDown with previous events still allowing more scale down", (), ([10, 10, 10], 120), 1, 1000, None, (0, 0, 1000, 120, 300), 10, 5, 5, "DesiredWithinRange"),  # noqa: E501
    ("check 'outdated' flag for events for one behavior for up", ([8, 12, 9, 11], 120), (), 1, 1000, (1000, 60, 0, 0, 0), None, 100, 200, 200, "DesiredWithinRange"),  # noqa: E501
    ("events not marked 'outdated' for two different policies for up", ([8, 12, 9, 11], 120), (), 1, 1000, (1000, 120, 100, 60, 0), None, 100, 200, 200, "DesiredWithinRange"),  # noqa: E501
    ("events marked 'outdated' for two different policies for up", ([8, 12, 9, 11], 120), (), 1, 1000, (1000, 30, 100, 60, 0), None, 100, 200, 200, "DesiredWithinRange"),  # noqa: E501
    ("check 'outdated' flag for events for one behavior for down", (), ([8, 12, 9, 11], 120), 1, 1000, None, (1000, 60, 0, 0, 300), 100, 5, 5, "DesiredWithinRange"),  # noqa: E501
    ("events not marked 'outdated' for two different policies for down", (), ([8, 12, 9, 11], 120), 1, 1000, None, (1000, 120, 100, 60, 300), 100, 5, 5, "DesiredWithinRange"),  # noqa: E501
    ("events marked 'outdated' for two different policies for down", (), ([8, 12, 9, 11], 120), 1, 1000, None, (1000, 30, 100, 60, 300), 100, 5, 5, "DesiredWithinRange"),  # noqa: E501
]  # fmt: skip


@pytest.mark.parametrize("case", SCALING_WITH_RULES, ids=[case[0] for case in SCALING_WITH_RULES])
def test_scaling_with_rules(case: tuple) -> None:  # type: ignore[type-arg]
    _, up_events, down_events, minimum, maximum, up, down, current, desired, expected, condition = case
    up_rules = generate_scaling_rules(*up) if up else DEFAULT_SCALE_UP
    down_rules = generate_scaling_rules(*down) if down else DEFAULT_SCALE_DOWN
    state = HpaState(UPSTREAM_TEST_CONFIG)
    state.scale_up_events = uniform_events(*up_events) if up_events else []
    state.scale_down_events = uniform_events(*down_events) if down_events else []
    hpa = _hpa(minimum, maximum, up_rules, down_rules)
    replicas, (reason, _) = state._rate_limit(hpa, up_rules, down_rules, NOW, current, desired)
    assert (replicas, reason) == (expected, condition)


def test_scale_down_limit_with_min_select_policy() -> None:
    rules = ScalingRules(300, "Min", (ScalingPolicy("Pods", 2, 60), ScalingPolicy("Percent", 50, 60)))
    hpa = _hpa(1, 10, DEFAULT_SCALE_UP, rules)
    # Pods: 5 − 2 = 3, Percent: int(5 × 0.5) = 2; Min picks the smallest change: 3
    assert HpaState()._rate_limit(hpa, DEFAULT_SCALE_UP, rules, NOW, 5, 0) == (
        3,
        ("ScaleDownLimit", "the desired replica count is decreasing faster than the maximum scale rate"),
    )


# -- horizontal.go: TestStoreScaleEvents -------------------------------------------------------------------------
STORE_SCALE_EVENTS = [
    # (name, previous (change, seconds ago), rules, change in the last 60 s, stored (change, outdated))
    ("empty entries with default behavior", [], None, 0, []),
    ("empty entries with two-policy-behavior", [], (10, 60, 100, 60, 0), 0, [(5, False)]),
    ("one outdated entry to be kept untouched without behavior", [(7, 61)], None, 0, [(7, False)]),
    ("one outdated entry to be replaced with behavior", [(7, 61)], (10, 60, 100, 60, 0), 0, [(5, False)]),
    ("one actual entry to be not touched with behavior", [(7, 58)], (10, 60, 100, 60, 0), 7, [(7, False), (5, False)]),
    ("two entries, one of them to be replaced", [(7, 61), (6, 59)], (10, 60, 0, 0, 0), 6, [(5, False), (6, False)]),
    ("replace one entry, use policies with different periods", [(8, 29), (6, 59), (7, 61), (9, 61)], (10, 60, 100, 30, 0), 14, [(8, False), (6, False), (7, True), (5, False)]),  # noqa: E501
    ("two entries, both actual", [(7, 58), (6, 59)], (10, 120, 100, 30, 0), 13, [(7, False), (6, False), (5, False)]),
]  # fmt: skip


@pytest.mark.parametrize("case", STORE_SCALE_EVENTS, ids=[case[0] for case in STORE_SCALE_EVENTS])
def test_store_scale_events(case: tuple) -> None:  # type: ignore[type-arg]
    _, previous, rules, expected_change, stored = case
    events = [ScaleEvent(NOW - ago, change) for change, ago in previous]
    in_period = sum(event.replica_change for event in events if event.timestamp_seconds > NOW - 60)
    assert in_period == expected_change
    up = generate_scaling_rules(*rules) if rules else None
    hpa = HPA("ns", "web", ObjectRef("Deployment", "ns", "web"), 1, 100, (), up, DEFAULT_SCALE_DOWN if up else None)
    state = HpaState()
    state.scale_up_events = events
    state.store_scale_event(hpa, NOW, 10, 15)
    assert [(event.replica_change, event.outdated) for event in state.scale_up_events] == stored


# -- horizontal.go: TestNormalizeDesiredReplicas (the legacy stabilisation over 5 min) -----------------------------
@pytest.mark.parametrize(
    ("recommendations", "prenormalized", "stabilized", "log_length"),
    [
        ([], 5, 5, 1),  # empty log
        ([(4, 120), (5, 60)], 3, 5, 3),  # stabilize
        ([(1, 120), (2, 60)], 3, 3, 3),  # no stabilize
        ([(10, 600), (9, 540)], 3, 3, 2),  # no stabilize - old recommendations
        ([(10, 600), (4, 60), (5, 120), (9, 540)], 3, 5, 4),  # stabilize - old recommendations
    ],
)
def test_normalize_desired_replicas(
    recommendations: list[tuple[int, int]], prenormalized: int, stabilized: int, log_length: int
) -> None:
    state = HpaState(HpaControllerConfig(downscale_stabilization_seconds=300))
    state.recommendations = [(NOW - ago, value) for value, ago in recommendations]
    assert state._stabilize_legacy(NOW, prenormalized) == stabilized
    assert len(state.recommendations) == log_length


# -- pkg/apis/autoscaling/v2/defaults_test.go -------------------------------------------------------------------
def _rules_json(pods: int, pods_period: int, percent: int, percent_period: int, **extra: object) -> dict[str, object]:
    policies = []
    if pods or pods_period:
        policies.append({"type": "Pods", "value": pods, "periodSeconds": pods_period})
    if percent or percent_period:
        policies.append({"type": "Percent", "value": percent, "periodSeconds": percent_period})
    return {"policies": policies or None, **extra}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (_rules_json(0, 0, 0, 0), ScalingRules(None, "Max", (ScalingPolicy("Percent", 100, 15),))),
        (
            _rules_json(1, 2, 3, 4, stabilizationWindowSeconds=25, selectPolicy="Max"),
            ScalingRules(25, "Max", (ScalingPolicy("Pods", 1, 2), ScalingPolicy("Percent", 3, 4))),
        ),
        (_rules_json(0, 0, 1, 2, selectPolicy="Min"), ScalingRules(None, "Min", (ScalingPolicy("Percent", 1, 2),))),
        (_rules_json(3, 4, 0, 0), ScalingRules(None, "Max", (ScalingPolicy("Pods", 3, 4),))),
    ],
)
def test_generate_scale_down_rules(raw: dict[str, object], expected: ScalingRules) -> None:
    assert rules_from_json(raw, DEFAULT_SCALE_DOWN) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (_rules_json(0, 0, 0, 0), DEFAULT_SCALE_UP),
        (
            _rules_json(1, 2, 3, 4, stabilizationWindowSeconds=25, selectPolicy="Max"),
            ScalingRules(25, "Max", (ScalingPolicy("Pods", 1, 2), ScalingPolicy("Percent", 3, 4))),
        ),
        (_rules_json(1, 2, 0, 0, selectPolicy="Min"), ScalingRules(0, "Min", (ScalingPolicy("Pods", 1, 2),))),
        (_rules_json(0, 0, 7, 10), ScalingRules(0, "Max", (ScalingPolicy("Percent", 7, 10),))),
        (
            _rules_json(4, 2, 0, 0, stabilizationWindowSeconds=25),
            ScalingRules(25, "Max", (ScalingPolicy("Pods", 4, 2),)),
        ),
        (
            _rules_json(0, 0, 7, 60, stabilizationWindowSeconds=25),
            ScalingRules(25, "Max", (ScalingPolicy("Percent", 7, 60),)),
        ),
    ],
)
def test_generate_scale_up_rules(raw: dict[str, object], expected: ScalingRules) -> None:
    assert rules_from_json(raw, DEFAULT_SCALE_UP) == expected


def test_quantity_tolerance_is_parsed_as_a_quantity() -> None:
    rules = rules_from_json({"tolerance": "50m"}, DEFAULT_SCALE_UP)
    assert rules.tolerance == "50m"
    hpa = _hpa(1, 10, rules, DEFAULT_SCALE_DOWN)
    readings = MetricReadings(pods={"cpu": Scenario(3, [G] * 3, [[530] * 2] * 3).pods()})
    # 1060 m of 2000 m requested = 53 % against 50 %: ratio 1.06 is inside the controller's 10 % but outside the
    # HPA's own 5 % ("50m") scale-up tolerance
    decision = HpaState(UPSTREAM_TEST_CONFIG).step(
        HPA(hpa.namespace, hpa.name, hpa.target, 1, 10, (cpu_metric(50),), rules, DEFAULT_SCALE_DOWN),
        now_seconds=NOW,
        current_replicas=3,
        pods=readings,
    )
    assert decision.desired_replicas == 4  # ceil(1.06 × 3)
    without = HpaState(UPSTREAM_TEST_CONFIG).step(
        HPA(hpa.namespace, hpa.name, hpa.target, 1, 10, (cpu_metric(50),), DEFAULT_SCALE_UP, DEFAULT_SCALE_DOWN),
        now_seconds=NOW,
        current_replicas=3,
        pods=readings,
    )
    assert without.desired_replicas == 3


# -- horizontal.go: TestNormalizeDesiredReplicasWithBehavior (stabilizeRecommendationWithBehaviors) ----------------
NORMALIZE_WITH_BEHAVIOR = [
    # (name, recommendations (value, minutes ago), current, prenormalized, stabilized, stored values, up, down window)
    ("empty recommendations for scaling down", [], 100, 5, 5, [5], 0, 0),
    ("simple scale down stabilization", [(4, 2), (5, 1)], 100, 3, 5, [4, 5, 3], 0, 180),
    ("simple scale up stabilization", [(4, 2), (5, 1)], 1, 7, 4, [4, 5, 7], 300, 0),
    ("no scale down stabilization", [(1, 2), (2, 1)], 100, 3, 3, [1, 2, 3], 300, 0),
    ("no scale up stabilization", [(4, 2), (5, 1)], 1, 3, 3, [4, 5, 3], 0, 300),
    ("no scale down stabilization, reuse recommendation element", [(10, 10), (9, 9)], 100, 3, 3, [10, 3], 0, 0),
    ("no scale up stabilization, reuse recommendation element", [(10, 10), (9, 9)], 1, 100, 100, [10, 100], 0, 0),
    ("scale down stabilization, reuse one of obsolete recommendation element",
     [(10, 10), (4, 1), (5, 2), (9, 9)], 100, 3, 5, [10, 4, 5, 3], 0, 180),
    ("scale up stabilization, reuse one of obsolete recommendation element",
     [(10, 100), (6, 1), (5, 2), (9, 3)], 1, 100, 5, [100, 6, 5, 9], 300, 0),
    ("scale up and down stabilization, do not scale up when prenormalized rec goes down",
     [(2, 100), (3, 3)], 2, 1, 2, None, 300, 300),
    ("scale up and down stabilization, do not scale down when prenormalized rec goes up",
     [(2, 100), (1, 3)], 2, 3, 2, None, 300, 300),
]  # fmt: skip


@pytest.mark.parametrize("case", NORMALIZE_WITH_BEHAVIOR, ids=[case[0] for case in NORMALIZE_WITH_BEHAVIOR])
def test_normalize_desired_replicas_with_behavior(case: tuple) -> None:  # type: ignore[type-arg]
    _, recommendations, current, prenormalized, stabilized, stored, up_window, down_window = case
    state = HpaState(UPSTREAM_TEST_CONFIG)
    state.recommendations = [(NOW - minutes * 60, value) for value, minutes in recommendations]
    up = ScalingRules(up_window, "Max", DEFAULT_SCALE_UP.policies)
    down = ScalingRules(down_window, "Max", DEFAULT_SCALE_DOWN.policies)
    assert state._stabilize_with_behavior(up, down, NOW, current, prenormalized) == stabilized
    if stored is not None:
        assert [value for _, value in state.recommendations] == stored


# -- horizontal.go through a whole sync (TestScaleUp, TestScaleUpUnreadyLessScale): legacy path, pods of 1.0 core --
@pytest.mark.parametrize(
    ("readiness", "expected"),
    [((), 5), (("False", "True", "True"), 4)],
    ids=["TestScaleUp", "TestScaleUpUnreadyLessScale"],
)
def test_controller_scale_up(readiness: tuple[str, ...], expected: int) -> None:
    # minReplicas 2, maxReplicas 6, 3 replicas, CPU target 30 %, levels 300/500/700 m on 1.0-core requests
    pods = [
        replace(pod, requests_milli={"container1": G})
        for pod in Scenario(3, [G] * 3, [[300], [500], [700]], readiness=readiness).pods()
    ]
    hpa = HPA("test-namespace", "test-hpa", ObjectRef("Deployment", "test-namespace", "web"), 2, 6, (cpu_metric(30),))
    decision = HpaState(UPSTREAM_TEST_CONFIG).step(hpa, now_seconds=NOW, current_replicas=3, pods=pods)
    assert (decision.desired_replicas, decision.rescale) == (expected, True)
    assert decision.reason == "cpu resource utilization (percentage of request) above target"
