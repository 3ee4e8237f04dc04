"""A child process for the crash test: writes scrapes forever and reports each committed batch on stdout.

Run as `python -m tests.history.crash_writer <data_dir> <containers_per_batch>`; the parent kills it
with SIGKILL at an arbitrary moment and checks that every reported batch survived, whole.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from k8s_optimizer.history.engine import Retention
from k8s_optimizer.history.store import HistoryStore
from tests.history.factories import T0, scraped


async def write_forever(data_dir: Path, per_batch: int) -> None:
    store = await HistoryStore.open(data_dir, retention=Retention(checkpoint_interval_seconds=60.0))
    batch = 0
    while True:
        timestamp = T0 + 15 * batch
        containers = [scraped(f"pod-{i}", timestamp, float(i + batch), 1000 * i + batch) for i in range(per_batch)]
        await store.record_scrape(containers, [])
        sys.stdout.write(f"{batch}\n")
        sys.stdout.flush()
        batch += 1


if __name__ == "__main__":
    asyncio.run(write_forever(Path(sys.argv[1]), int(sys.argv[2])))
