"""promtool runs from async tests without blocking the event loop the embedded cluster serves on."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

# one block for the whole file: promtool re-reads the file once per block, 2-hour blocks by default
PROMTOOL_BLOCKS = ("promtool", "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=1000h")


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


async def run(*command: str, timeout_seconds: float = 120.0) -> Result:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    async with asyncio.timeout(timeout_seconds):
        stdout, stderr = await process.communicate()
    return Result(process.returncode if process.returncode is not None else -1, stdout.decode(), stderr.decode())
