"""Interpreter tuning: what it sets, and that the application applies it once the caches have synced."""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from k8s_optimizer.app import create_app
from k8s_optimizer.interpreter import (
    GC_GEN0_THRESHOLD_AFTER_SYNC,
    GC_PAUSE,
    GIL_SWITCH_INTERVAL_SECONDS,
    tune_for_synced_caches,
)
from k8s_optimizer.settings import Settings
from tests.simcluster import SimCluster


@pytest.fixture
def untuned() -> Iterator[tuple[int, int, int]]:
    """Interpreter defaults for the test; whatever was set before is restored afterwards."""
    threshold, interval_seconds = gc.get_threshold(), sys.getswitchinterval()
    gc.unfreeze()  # an earlier test's freeze must not pass for this one's
    gc.set_threshold(700, *threshold[1:])
    sys.setswitchinterval(0.005)
    try:
        yield threshold
    finally:
        gc.set_threshold(*threshold)
        sys.setswitchinterval(interval_seconds)


def test_tuning_makes_young_collections_rarer_and_the_gil_switch_shorter(untuned: tuple[int, int, int]) -> None:
    """docs/api.md: full collections and the 5 ms GIL hand-off were the delta/p99 stalls."""
    tune_for_synced_caches()
    assert gc.get_threshold() == (GC_GEN0_THRESHOLD_AFTER_SYNC, *untuned[1:])
    assert sys.getswitchinterval() == GIL_SWITCH_INTERVAL_SECONDS
    assert gc.get_freeze_count() > 0


def test_the_pause_nests_and_restores_the_state_it_found() -> None:
    with GC_PAUSE.paused():
        with GC_PAUSE.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_application_tunes_once_the_caches_have_synced(untuned: tuple[int, int, int], tmp_path: Path) -> None:
    with SimCluster.start(scenario="demo", speed=1.0) as sim:
        settings = Settings(kubeconfig=sim.kubeconfig, data_dir=tmp_path)
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            deadline = time.monotonic() + 20.0
            while client.get("/ready").status_code != 200:
                assert time.monotonic() < deadline, "never ready"
                time.sleep(0.05)
            assert gc.get_threshold() == (GC_GEN0_THRESHOLD_AFTER_SYNC, *untuned[1:])
            assert sys.getswitchinterval() == GIL_SWITCH_INTERVAL_SECONDS
