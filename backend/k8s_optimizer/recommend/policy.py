"""The optimizer's knobs: one validated Policy (named presets) and the price book.

Every constant the strategies use lives here with its source (KRR `simple`, the VPA recommender,
Popeye's allocation thresholds), so a user can see and override exactly what produced a number.
Pydantic is allowed in the pure core: validation is computation, not I/O.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from k8s_optimizer.analysis.cost import Prices
from k8s_optimizer.domain.autoscaling import HpaControllerConfig
from k8s_optimizer.domain.quantities import MIB

PolicyName = Literal["balanced", "krr-simple", "vpa"]
HOUR_SECONDS = 3600.0

__all__ = ["HOUR_SECONDS", "Policy", "PolicyName", "Prices"]


class Policy(BaseModel):
    """Validated settings of the right-sizing strategies, checks and HPA tuning."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: PolicyName = Field("balanced", description="Strategy: balanced (default), krr-simple or vpa.")
    cpu_percentile: float = Field(90, gt=0, le=100, description="CPU target percentile (VPA 90, KRR 95).")
    cpu_lower_percentile: float = Field(50, gt=0, le=100, description="Lower bound percentile (VPA 50).")
    cpu_upper_percentile: float = Field(95, gt=0, le=100, description="Upper bound percentile (VPA 95).")
    memory_percentile: float = Field(90, gt=0, le=100, description="Percentile of daily memory peaks (VPA 90).")
    margin_fraction: float = Field(0.15, ge=0, le=5, description="Safety margin on every value (VPA/KRR 15 %).")
    points_required: int = Field(100, ge=1, description="Minimum data points before recommending (KRR 100).")
    min_history_seconds: float = Field(3 * HOUR_SECONDS, ge=0, description="Minimum history span (KRR 3 h).")
    sparse_sample_interval_seconds: float = Field(
        1800, gt=0, description="Fewer points than required pass when there is one per this interval over the span."
    )
    cpu_min_millicores: int = Field(10, ge=1, description="CPU floor per container (KRR 10 m).")
    memory_min_bytes: int = Field(100 * MIB, ge=MIB, description="Memory floor per container (KRR 100 MiB).")
    floors_per_pod: bool = Field(False, description="VPA: the floors are per pod, split evenly across containers.")
    gates: Literal["strict", "krr", "none"] = Field(
        "strict",
        description="strict: ≥ min history and ≥ points (or regular sparse data); krr: ≥ points, short history only "
        "warns (KRR); none: any sample (VPA).",
    )
    oom_bump: bool = Field(True, description="Raise memory after an OOM kill (VPA's bump; KRR's use_oomkill_data).")
    oom_bump_ratio: float = Field(1.2, ge=1, description="VPA OOM bump ratio.")
    oom_min_bump_bytes: int = Field(100 * MIB, ge=0, description="VPA minimum OOM bump (100 MiB).")
    krr_oom_buffer_fraction: float = Field(0.25, ge=0, description="KRR: memory ≥ OOM limit × (1 + this).")
    half_life_seconds: float = Field(24 * HOUR_SECONDS, gt=0, description="Histogram decay half-life (VPA 24 h).")
    memory_aggregation_seconds: float = Field(24 * HOUR_SECONDS, gt=0, description="Peak interval (VPA 24 h).")
    over_allocated_ratio: float = Field(0.5, gt=0, description="usage/request below this is over-allocated.")
    under_allocated_ratio: float = Field(2.0, gt=0, description="usage/request above this is under-allocated.")
    restart_threshold: int = Field(3, ge=0, description="Restarts in 24 h above this are flagged (Popeye 3).")
    min_replicas: int = Field(2, ge=1, description="Replicas below this are a single point of failure.")
    hpa_target_utilization_percent: int = Field(70, ge=10, le=100, description="Default HPA target for proposals.")
    hpa_max_replicas_cap: int = Field(50, ge=1, description="Largest maxReplicas the HPA search proposes.")
    hpa_controller: HpaControllerConfig = Field(
        default_factory=HpaControllerConfig, description="The cluster's HPA controller settings the replay uses."
    )
    cpu_limits: Literal["keep-ratio", "remove"] = Field(
        "keep-ratio", description="keep-ratio scales existing CPU limits with the request; remove drops them (KRR)."
    )

    @classmethod
    def named(cls, name: PolicyName) -> Policy:
        """Presets: krr-simple = KRR `simple`; vpa = the VPA recommender; balanced = VPA target, KRR floors,
        strict gates and the OOM bump."""
        if name == "krr-simple":  # KRR's defaults: allow_hpa off, use_oomkill_data off, < 3 h only warns
            return cls(
                name=name, cpu_percentile=95, margin_fraction=0.15, cpu_limits="remove", gates="krr", oom_bump=False
            )
        if name == "vpa":  # the recommender's flags: no data gate, OOM bump, per-pod minimums
            return cls(name=name, cpu_min_millicores=25, memory_min_bytes=250 * MIB, floors_per_pod=True, gates="none")
        return cls(name=name)
