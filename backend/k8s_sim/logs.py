"""Container logs for `pods/log`, generated from the load model, and the container verbs that cannot work.

Why this exists: logs are the first thing anyone reads (`kubectl logs`, `-f`, `--previous`), and "is traffic
still reaching my pods?" should be answerable from them as on a real cluster. No container runs here, so a
log is a pure function of what the simulation knows: when each container run started and ended (the
kubelet), why it ended (OOMKilled, Error) and how many requests the pod served in each 15-second sample
(the load model's traffic split over the workload's ready pods). An echo or web server writes one access
line per request, a `stress` container writes its start-up and its worker being killed, anything else a
start-up line. As the kubelet's log rotation does, only the newest `ROTATED_LINES` lines of a run are kept.

`exec`, `attach` and `port-forward` need a real process; they answer with a Status saying so plainly.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from aiohttp import web

from k8s_sim import resources as r
from k8s_sim.load import SAMPLE_SECONDS, LoadModel, unit_hash, workload_of
from k8s_sim.store import ApiError, Obj, ObjectStore
from k8s_sim.wire import Cluster, Target, bad_request, query_int

ROTATED_LINES = 1000  # the kubelet rotates container logs; older lines are gone
FOLLOW_POLL_REAL_SECONDS = 0.5
CONTAINER_VERBS = ("exec", "attach", "portforward")


@dataclass(frozen=True, slots=True)
class Run:
    """One run of a container: [start, end) in simulated seconds, and how it ended (None: still running)."""

    start_seconds: float
    end_seconds: float | None
    reason: str | None = None
    exit_code: int | None = None


@runtime_checkable
class LogSource(Protocol):
    def runs(self, namespace: str, pod: str, container: str) -> tuple[Run | None, Run | None] | None: ...
    def lines(self, namespace: str, pod: str, container: str, run: Run, until: float) -> list[tuple[float, str]]: ...


# -- the generator -------------------------------------------------------------------------------------
def _flavour(image: str) -> str:
    name = image.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]
    if "stress" in name:
        return "stress"
    if "echo" in name or name in ("nginx", "httpd", "caddy", "traefik", "envoy"):
        return "http"
    return "generic"


def _clf_time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


class PodLogs:
    """The cluster's log source: container runs from the kubelet, request counts from the load model."""

    def __init__(self, store: ObjectStore, load: LoadModel) -> None:
        self.store = store
        self.load = load

    def runs(self, namespace: str, pod: str, container: str) -> tuple[Run | None, Run | None] | None:
        """(current run, previous run) of a container; None if the kubelet does not know it."""
        runtime = self.load.kubelet.pods.get((namespace, pod))
        found = next((c for c in runtime.containers if c.name == container), None) if runtime else None
        if found is None:
            return None
        previous = None
        if found.last_terminated:
            ended = found.last_terminated
            start = _epoch(ended.get("startedAt"))
            end = _epoch(ended.get("finishedAt"))
            if start is not None and end is not None:
                previous = Run(start, end, str(ended.get("reason", "")), int(ended.get("exitCode", 0)))
        current = Run(found.started_at, None) if found.started_at is not None else None
        last = found.terminated
        if last is not None and found.started_at is not None:
            finished = _epoch(last.get("finishedAt")) or found.started_at
            current = Run(found.started_at, finished, str(last.get("reason", "")), int(last.get("exitCode", 0)))
        return current, previous

    def lines(self, namespace: str, pod: str, container: str, run: Run, until: float) -> list[tuple[float, str]]:
        """The run's lines up to `until` (newest ROTATED_LINES), oldest first."""
        obj = self.store.get(r.PODS, namespace, pod)
        if obj is None:
            return []
        spec_containers = obj["spec"].get("containers") or []
        index = next((i for i, c in enumerate(spec_containers) if c.get("name") == container), -1)
        image = str(spec_containers[index].get("image", "")) if index >= 0 else ""
        flavour = _flavour(image)
        end = min(until, run.end_seconds) if run.end_seconds is not None else until
        head = list(_startup(flavour, container, image, run.start_seconds))
        tail = list(_shutdown(flavour, run, end)) if run.end_seconds is not None and until >= run.end_seconds else []
        body: list[tuple[float, str]] = []
        if flavour == "http" and index == 0:
            body = self._access_lines(obj, run.start_seconds, end, ROTATED_LINES)
        lines = [*head, *body, *tail]
        return lines[-ROTATED_LINES:]

    def _access_lines(self, pod: Obj, start: float, end: float, limit: int) -> list[tuple[float, str]]:
        """One combined-log-format line per request the pod served, newest `limit`, generated backwards."""
        workload = workload_of(pod)
        client = self._client_ip(workload)
        collected: list[list[tuple[float, str]]] = []
        count = 0
        step = math.floor(end / SAMPLE_SECONDS)
        while count < limit and step * SAMPLE_SECONDS + SAMPLE_SECONDS > start:
            window_start = max(step * SAMPLE_SECONDS, start)
            window_end = min(step * SAMPLE_SECONDS + SAMPLE_SECONDS, end)
            if window_end > window_start:
                chunk = self._requests(pod, workload, client, step, window_start, window_end)
                collected.append(chunk)
                count += len(chunk)
            step -= 1
        lines = [line for chunk in reversed(collected) for line in chunk]
        return lines[-limit:]

    def _requests(
        self, pod: Obj, workload: tuple[str, str], client: str, step: int, low: float, high: float
    ) -> list[tuple[float, str]]:
        share = self._pod_rps(workload, step * SAMPLE_SECONDS)
        name = pod["metadata"]["name"]
        expected = share * (high - low)
        count = int(expected) + (1 if unit_hash(name, step, "extra") < expected - int(expected) else 0)
        lines = []
        for index in range(count):
            at = low + (high - low) * (index + unit_hash(name, step, index)) / max(count, 1)
            size = 380 + int(unit_hash(name, step, index, "bytes") * 120)
            lines.append((at, f'{client} - - [{_clf_time(at)}] "GET / HTTP/1.1" 200 {size} "-" "Wget"'))
        return lines

    def _pod_rps(self, workload: tuple[str, str], at: float) -> float:
        """The pod's share of its workload's traffic at `at` (own source + the load generators driving it)."""
        load = self.load
        total = load.traffic(workload, load.effective_model(workload), at)
        for source in list(load.models):
            model = load.effective_model(source)
            if source[0] == workload[0] and model.drives == workload[1]:
                total += load.traffic(source, model, at)
        ready = sum(
            1
            for key, entry in load.pods.items()
            if entry.workload == workload and (runtime := load.kubelet.pods.get(key)) is not None and runtime.ready
        )
        return total / ready if ready else 0.0

    def _client_ip(self, workload: tuple[str, str]) -> str:
        """The IP of a pod driving this workload (the load generator), else the node bridge (a probe)."""
        for key, entry in self.load.pods.items():
            model = self.load.effective_model(entry.workload)
            if key[0] == workload[0] and model.drives == workload[1]:
                runtime = self.load.kubelet.pods.get(key)
                if runtime is not None and runtime.ip:
                    return runtime.ip
        return "10.244.0.1"


def _startup(flavour: str, container: str, image: str, at: float) -> Iterator[tuple[float, str]]:
    if flavour == "stress":
        yield at, "stress: info: [1] dispatching hogs: 0 cpu, 0 io, 1 vm, 0 hdd"
    elif flavour == "http":
        yield at, f"{container}: listening on port 8080 ({image})"
    else:
        yield at, f"{container}: started ({image})"


def _shutdown(flavour: str, run: Run, at: float) -> Iterator[tuple[float, str]]:
    ran = int(at - run.start_seconds)
    if flavour == "stress" and run.reason == "OOMKilled":
        yield at, "stress: FAIL: [1] (415) <-- worker 7 got signal 9"
        yield at, "stress: WARN: [1] (417) now reaping child worker processes"
        yield at, f"stress: FAIL: [1] (451) failed run completed in {ran}s"
    elif run.reason == "OOMKilled":
        yield at, "Killed"
    elif run.exit_code == 0:
        yield at, "done"
    else:
        yield at, f"fatal: exiting with code {run.exit_code}"


def _epoch(text: object) -> float | None:
    if not isinstance(text, str) or not text:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


# -- the HTTP side ---------------------------------------------------------------------------------------
def _pick_container(pod: Obj, requested: str | None) -> str:
    names = [c.get("name", "") for c in pod["spec"].get("containers") or ()]
    inits = [c.get("name", "") for c in pod["spec"].get("initContainers") or ()]
    name = pod["metadata"]["name"]
    if not requested:
        if len(names) == 1:
            return str(names[0])
        raise bad_request(
            f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
            + (f" or one of the init containers: [{' '.join(inits)}]" if inits else "")
        )
    if requested not in names and requested not in inits:
        raise bad_request(f"container {requested} is not valid for pod {name}")
    return requested


def _select(source: LogSource, pod: Obj, container: str, previous: bool) -> tuple[Run, tuple[str, str]]:
    namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    runs = source.runs(namespace, name, container)
    current, before = runs if runs is not None else (None, None)
    if previous:
        if before is None:
            raise bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
        return before, (namespace, name)
    if current is None:
        if before is not None:  # crash-looping: the last run's log is what the kubelet still has
            return before, (namespace, name)
        raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: ContainerCreating')
    return current, (namespace, name)


@dataclass(frozen=True, slots=True)
class LogOptions:
    follow: bool
    tail_lines: int | None
    since_seconds: float | None
    timestamps: bool
    limit_bytes: int | None


def _options(request: web.Request, now: float) -> LogOptions:
    since: float | None = None
    if request.query.get("sinceSeconds"):
        since = now - query_int(request, "sinceSeconds", 0)
    elif request.query.get("sinceTime"):
        parsed = _epoch(request.query["sinceTime"])
        if parsed is None:
            raise bad_request(f"sinceTime: invalid value {request.query['sinceTime']!r}: must be RFC 3339")
        since = parsed
    tail = query_int(request, "tailLines", -1) if request.query.get("tailLines") else None
    limit = query_int(request, "limitBytes", 0) if request.query.get("limitBytes") else None
    return LogOptions(
        follow=request.query.get("follow", "").lower() in ("true", "1"),
        tail_lines=tail,
        since_seconds=since,
        timestamps=request.query.get("timestamps", "").lower() in ("true", "1"),
        limit_bytes=limit or None,
    )


def _render(lines: list[tuple[float, str]], timestamps: bool) -> bytes:
    out = []
    for at, text in lines:
        prefix = ""
        if timestamps:
            moment = datetime.fromtimestamp(at, UTC)
            prefix = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond * 1000:09d}Z "
        out.append(f"{prefix}{text}\n")
    return "".join(out).encode()


async def pod_log(cluster: Cluster, request: web.Request, target: Target) -> web.StreamResponse:
    """GET pods/{name}/log with kubectl's options."""
    if request.method != "GET":
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
    source = getattr(cluster, "logs", None)
    pod = cluster.store.require(r.PODS, target.namespace or "", target.name or "")
    container = _pick_container(pod, request.query.get("container"))
    if not isinstance(source, LogSource):
        raise bad_request(f'container "{container}" in pod "{pod["metadata"]["name"]}" is waiting to start')
    previous = request.query.get("previous", "").lower() in ("true", "1")
    run, (namespace, name) = _select(source, pod, container, previous)
    now = cluster.clock.now_seconds()
    options = _options(request, now)
    lines = _window(source.lines(namespace, name, container, run, now), options)
    body = _render(lines, options.timestamps)
    if options.limit_bytes is not None:
        body = body[: options.limit_bytes]
    if not options.follow or run.end_seconds is not None:
        return web.Response(body=body, content_type="text/plain")
    response = web.StreamResponse(headers={"Content-Type": "text/plain", "Cache-Control": "no-cache"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    await response.write(body)
    await _follow(cluster, source, response, (namespace, name, container), run, now, options.timestamps)
    return response


def _window(lines: list[tuple[float, str]], options: LogOptions) -> list[tuple[float, str]]:
    if options.since_seconds is not None:
        lines = [line for line in lines if line[0] >= options.since_seconds]
    if options.tail_lines is not None:
        lines = lines[-options.tail_lines :] if options.tail_lines else []
    return lines


async def _follow(
    cluster: Cluster,
    source: LogSource,
    response: web.StreamResponse,
    where: tuple[str, str, str],
    run: Run,
    sent_until: float,
    timestamps: bool,
) -> None:
    """Stream new lines as simulated time passes, until the run ends or the pod goes away."""
    namespace, name, container = where
    while True:
        await asyncio.sleep(FOLLOW_POLL_REAL_SECONDS)
        runs = source.runs(namespace, name, container)
        now = cluster.clock.now_seconds()
        current = runs[0] if runs is not None else None
        ended = current is None or current.start_seconds != run.start_seconds
        if ended:
            return
        fresh = [line for line in source.lines(namespace, name, container, run, now) if line[0] >= sent_until]
        sent_until = now
        if fresh:
            await response.write(_render(fresh, timestamps))


async def container_verb(cluster: Cluster, request: web.Request, target: Target) -> web.Response:
    """exec / attach / portforward: a plain refusal, never "could not find the requested resource"."""
    pod = cluster.store.require(r.PODS, target.namespace or "", target.name or "")
    verb = {"portforward": "port-forward"}.get(target.subresource or "", target.subresource or "")
    name = pod["metadata"]["name"]
    raise ApiError(
        400,
        "BadRequest",
        f"{verb} is not supported for pod {name}: the embedded cluster (k8s-optimizer sim) runs no containers, "
        "so there is no process to connect to; use `kubectl logs` to read its generated output",
    )
