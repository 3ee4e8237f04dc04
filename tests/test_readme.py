"""The README's configuration table must name every setting the backend reads."""

from __future__ import annotations

from pathlib import Path

from k8s_optimizer.domain.autoscaling import HpaControllerConfig
from k8s_optimizer.settings import PriceBook, Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented() -> None:
    names = [f"OPTIMIZER_{name.upper()}" for name in Settings.model_fields if name not in ("prices", "hpa")]
    names += [f"OPTIMIZER_PRICES__{name.upper()}" for name in PriceBook.model_fields]
    names += [f"OPTIMIZER_HPA__{name.upper()}" for name in HpaControllerConfig.model_fields]
    missing = [name for name in names if f"`{name}`" not in README]
    assert missing == []


def test_the_two_commands_come_first() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("## ", 1)[0]
    assert "make run" in quick_start
    assert "make test" in quick_start
