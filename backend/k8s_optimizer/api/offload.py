"""Large answers are built off the event loop, and the largest off the process.

Why: the event loop also answers `/health`, every other request and the WebSocket fan-out. Turning
1,000 pods into wire models and JSON is tens of milliseconds of pure CPU, the whole report seconds;
done inline it stalls everything behind it (issue 14: a `/health` took 4.3 s behind a YAML report).
A page of up to `INLINE_ITEMS` items is still rendered inline (a thread hop costs more than it saves);
anything larger goes to a worker thread, reading only the immutable view. A report of more than
`INLINE_ITEMS` recommendations is rendered in a worker *process*: YAML of 3,000 recommendations
allocates millions of objects, and in a thread the garbage collector's full passes and the GIL still
stalled the loop for up to a second; the server process only encodes the report's JSON, one
recommendation at a time.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TypeVar

from fastapi import Response

from k8s_optimizer.api import schemas as s
from k8s_optimizer.api.report_formats import ReportFormat, render_json

INLINE_ITEMS = 100
T = TypeVar("T")


def page_body(items: Iterable[bytes], next_cursor: str | None, total: int) -> bytes:
    """The JSON of `s.Page` from already-encoded items (the same bytes pydantic would produce)."""
    cursor_json = b"null" if next_cursor is None else json.dumps(next_cursor).encode()
    return b'{"items":[%b],"next_cursor":%b,"total":%d}' % (b",".join(items), cursor_json, total)


def _render(chunk: Sequence[T], convert: Callable[[T], s.Model], next_cursor: str | None, total: int) -> bytes:
    return page_body((convert(item).model_dump_json().encode() for item in chunk), next_cursor, total)


async def page_response(
    chunk: Sequence[T], convert: Callable[[T], s.Model], next_cursor: str | None, total: int
) -> Response:
    """One list page as JSON: `convert` each item and encode, in a worker thread when the page is large."""
    if len(chunk) <= INLINE_ITEMS:
        body = _render(chunk, convert, next_cursor, total)
    else:
        body = await asyncio.to_thread(_render, chunk, convert, next_cursor, total)
    return Response(body, media_type="application/json")


async def model_response(build: Callable[[], s.Model], items: int) -> Response:
    """One object as JSON (a detail with `items` pods): built and encoded in a worker thread when large."""
    if items <= INLINE_ITEMS:
        body = build().model_dump_json().encode()
    else:
        body = await asyncio.to_thread(lambda: build().model_dump_json().encode())
    return Response(body, media_type="application/json")


def report_json(report: s.Report) -> bytes:
    """The report's JSON, encoded one recommendation at a time.

    One pydantic call for 3,000 recommendations holds the GIL for ~80 ms; per item, the worker thread
    yields to the event loop between them.
    """
    head = report.model_copy(update={"recommendations": []}).model_dump_json().encode()
    if not head.endswith(b'"recommendations":[]}'):
        raise ValueError("Report.recommendations must stay the last field")
    items = b",".join(rec.model_dump_json().encode() for rec in report.recommendations)
    return head[: -len(b"]}")] + items + b"]}"


class ReportRenderer:
    """Renders reports: small ones in a worker thread, large ones in a worker process (started on first use)."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    async def render(self, report: s.Report, format: ReportFormat) -> str:
        data = await asyncio.to_thread(report_json, report)
        if len(report.recommendations) <= INLINE_ITEMS:
            return await asyncio.to_thread(render_json, data, format)
        # Submitting may start the worker processes (tens of milliseconds): done from a thread too.
        submitted = await asyncio.to_thread(self._submit, data, format)
        return await asyncio.wrap_future(submitted)

    def _submit(self, data: bytes, format: ReportFormat) -> Future[str]:
        return self._executor().submit(render_json, data, format)

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: forking a process that runs an event loop and threads copies their locks.
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    async def close(self) -> None:
        """Stop the worker process: queued renders are cancelled, a running one is waited for (in a thread)."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
