"""Settings from OPTIMIZER_* environment variables, nested models included."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from k8s_optimizer.settings import Settings


def test_hpa_controller_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPTIMIZER_HPA__TOLERANCE", "0.2")
    monkeypatch.setenv("OPTIMIZER_HPA__DOWNSCALE_STABILIZATION_SECONDS", "600")
    monkeypatch.setenv("OPTIMIZER_HPA__CPU_INITIALIZATION_PERIOD_SECONDS", "120")
    hpa = Settings().hpa
    assert (hpa.tolerance, hpa.downscale_stabilization_seconds, hpa.cpu_initialization_period_seconds) == (
        0.2,
        600,
        120.0,
    )
    # the flags the env leaves alone keep kube-controller-manager's defaults
    assert (hpa.initial_readiness_delay_seconds, hpa.scale_up_limit_factor, hpa.scale_up_limit_minimum) == (
        30.0,
        2.0,
        4.0,
    )


def test_a_bad_hpa_setting_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPTIMIZER_HPA__TOLERANCE", "-1")
    with pytest.raises(ValidationError, match=r"hpa\.tolerance"):
        Settings()
