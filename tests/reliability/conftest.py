"""One embedded cluster + backend shared by the bad-input and load tests (they do not change the cluster).

The fault storm and restart tests start their own: they inject faults or kill the backend.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.dashboard_servers import BackendServer
from tests.reliability.stack import backend_for
from tests.simcluster import SimCluster


@pytest.fixture(scope="session")
def shared_sim() -> Iterator[SimCluster]:
    with SimCluster.start(scenario="demo") as sim:
        yield sim


@pytest.fixture(scope="session")
def shared_backend(shared_sim: SimCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackendServer]:
    with backend_for(shared_sim, tmp_path_factory.mktemp("shared-backend"), metrics_interval_seconds=2.0) as backend:
        yield backend
