"""The Job and CronJob controllers: pods that run to completion, Jobs that finish, schedules that fire.

A Job keeps `min(parallelism, completions − succeeded)` pods running (named `<job>-<5 chars>`); the kubelet
completes them (see `sim.k8s-optimizer.io/complete-after-seconds`), and once `completions` pods succeeded
the Job is Complete (conditions, `completionTime`, a `Completed` event); more than `backoffLimit` failed
pods make it Failed with `BackoffLimitExceeded`. `ttlSecondsAfterFinished` deletes a finished Job and its
pods. A CronJob creates `<cronjob>-<minutes since epoch>` Jobs at each scheduled minute (the latest missed
one only, as the real controller does after downtime), honours `suspend` and `concurrencyPolicy`, keeps
`successfulJobsHistoryLimit`/`failedJobsHistoryLimit` finished Jobs and reports `active`,
`lastScheduleTime` and `lastSuccessfulTime`.
"""

from __future__ import annotations

import copy
import math
import random

from k8s_sim import resources as r
from k8s_sim.controllers.base import Key, Recorder, key_of, owner_reference, parse_time, random_suffix
from k8s_sim.controllers.workloads import DirtyOwners, OwnedIndex
from k8s_sim.cron import CronError, next_after, parse_schedule
from k8s_sim.store import ApiError, Obj, ObjectStore, WatchEvent

SCHEDULED_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"


def _finished(job: Obj) -> str | None:
    """'Complete' or 'Failed' once the Job has finished."""
    for item in (job.get("status") or {}).get("conditions") or ():
        if item.get("type") in ("Complete", "Failed") and item.get("status") == "True":
            return str(item["type"])
    return None


class JobController:
    def __init__(self, store: ObjectStore, recorder: Recorder, rng: random.Random) -> None:
        self.store = store
        self.recorder = recorder
        self.rng = rng
        self.tracking = DirtyOwners(r.JOBS, r.PODS)
        self.dirty = self.tracking.dirty
        self._expiry: dict[Key, float] = {}  # finished Jobs with a TTL → when they go
        store.add_listener(self._on_event)

    def _on_event(self, event: WatchEvent) -> None:
        if event.resource is r.PODS:
            refs = event.object["metadata"].get("ownerReferences") or ()
            indexed = self.tracking.children.owner_of
            if not any(ref.get("kind") == "Job" for ref in refs) and (
                not indexed or key_of(event.object) not in indexed
            ):
                return  # 10,000 ReplicaSet pods are none of the Job controller's business
        self.tracking.observe(event)

    def next_due(self) -> float | None:
        return min(self._expiry.values(), default=None)

    def run(self, now_seconds: float) -> bool:
        wrote = False
        for key, due in sorted(self._expiry.items()):
            if due <= now_seconds:
                del self._expiry[key]
                if self.store.get(r.JOBS, *key) is not None:
                    self.store.delete_cascade(r.JOBS, *key)
                    wrote = True
        work = sorted(self.dirty)
        self.dirty.clear()
        for key in work:
            job = self.store.get(r.JOBS, *key)
            if job is not None:
                wrote |= self._sync(job, now_seconds)
        return wrote

    def _pods(self, job: Obj) -> list[Obj]:
        found = (
            self.store.get(r.PODS, *key) for key in self.tracking.children.children.get(job["metadata"]["uid"], ())
        )
        return [pod for pod in found if pod is not None]

    def _sync(self, job: Obj, now: float) -> bool:
        if _finished(job):
            self._arm_ttl(job)
            return False
        spec = job["spec"]
        pods = self._pods(job)
        phases = [pod.get("status", {}).get("phase") for pod in pods]
        succeeded, failed = phases.count("Succeeded"), phases.count("Failed")
        active = [pod for pod in pods if pod.get("status", {}).get("phase") not in ("Succeeded", "Failed")]
        completions = spec.get("completions")
        wrote = False
        outcome = None
        if failed > int(spec.get("backoffLimit", 6)):
            outcome = ("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
        elif (completions is not None and succeeded >= int(completions)) or (
            completions is None and succeeded > 0 and not active
        ):
            outcome = ("Complete", "", "")
        if outcome is not None:
            for pod in active:
                self.store.delete(r.PODS, *key_of(pod))
            active = []
        elif not spec.get("suspend"):
            wanted = int(spec.get("parallelism", 1))
            if completions is not None:
                wanted = min(wanted, int(completions) - succeeded)
            for _ in range(max(wanted - len(active), 0)):
                created = self._create_pod(job)
                if created is not None:
                    active.append(created)
                    wrote = True
        return self._status(job, active, succeeded, failed, outcome) or wrote

    def _create_pod(self, job: Obj) -> Obj | None:
        template = copy.deepcopy(job["spec"]["template"])
        meta = template.get("metadata") or {}
        meta.pop("creationTimestamp", None)
        name = f"{job['metadata']['name']}-{random_suffix(self.rng)}"
        pod: Obj = {
            "metadata": {
                **meta,
                "name": name,
                "generateName": f"{job['metadata']['name']}-",
                "namespace": job["metadata"]["namespace"],
                "ownerReferences": [owner_reference(job)],
            },
            "spec": template.get("spec", {}),
        }
        try:
            created = self.store.create(r.PODS, pod)
        except ApiError as error:
            self.recorder.record(job, "Warning", "FailedCreate", f"Error creating: {error.message}", "job-controller")
            return None
        self.recorder.record(job, "Normal", "SuccessfulCreate", f"Created pod: {name}", "job-controller")
        return created

    def _status(
        self, job: Obj, active: list[Obj], succeeded: int, failed: int, outcome: tuple[str, str, str] | None
    ) -> bool:
        clock = self.store.clock
        now_text = clock.rfc3339()
        ready = sum(
            1
            for pod in active
            for c in pod.get("status", {}).get("conditions") or ()
            if c.get("type") == "Ready" and c.get("status") == "True"
        )

        def change(obj: Obj) -> None:
            status = obj.setdefault("status", {})
            status.setdefault("startTime", now_text)
            status["active"] = len(active)
            status["ready"] = ready
            status["terminating"] = 0
            status["uncountedTerminatedPods"] = {}
            for field, value in (("succeeded", succeeded), ("failed", failed)):
                if value:
                    status[field] = value
            if not status["active"]:
                del status["active"]
            if outcome is not None:
                self._finish(status, outcome, now_text)

        before = job["metadata"]["resourceVersion"]
        after = self.store.mutate(r.JOBS, *key_of(job), change)
        if outcome is not None and after is not None and after["metadata"]["resourceVersion"] != before:
            if outcome[0] == "Complete":
                self.recorder.record(job, "Normal", "Completed", "Job completed", "job-controller")
            else:
                self.recorder.record(job, "Warning", outcome[1], outcome[2], "job-controller")
            self._arm_ttl(after)
        return after is not None and after["metadata"]["resourceVersion"] != before

    @staticmethod
    def _finish(status: Obj, outcome: tuple[str, str, str], now_text: str) -> None:
        kind, reason, message = outcome
        conditions = status.setdefault("conditions", [])
        if kind == "Complete":
            status["completionTime"] = now_text
            criteria = {
                "type": "SuccessCriteriaMet",
                "reason": "CompletionsReached",
                "message": "Reached expected number of succeeded pods",
            }
            done = {
                "type": "Complete",
                "reason": "CompletionsReached",
                "message": "Reached expected number of succeeded pods",
            }
        else:
            criteria = {"type": "FailureTarget", "reason": reason, "message": message}
            done = {"type": "Failed", "reason": reason, "message": message}
        for item in (criteria, done):
            conditions.append({**item, "status": "True", "lastProbeTime": now_text, "lastTransitionTime": now_text})

    def _arm_ttl(self, job: Obj) -> None:
        ttl = job["spec"].get("ttlSecondsAfterFinished")
        if ttl is None:
            return
        status = job.get("status") or {}
        finished = parse_time(status.get("completionTime")) or max(
            (parse_time(c.get("lastTransitionTime")) or 0.0 for c in status.get("conditions") or ()), default=0.0
        )
        self._expiry[key_of(job)] = finished + float(ttl)


class CronJobController:
    def __init__(self, store: ObjectStore, recorder: Recorder) -> None:
        self.store = store
        self.recorder = recorder
        self.jobs = OwnedIndex()
        self.dirty: set[Key] = set()
        self._due: dict[Key, float] = {}
        self._by_uid: dict[str, Key] = {}
        store.add_listener(self._on_event)

    def _on_event(self, event: WatchEvent) -> None:
        if event.resource is r.CRONJOBS:
            key = key_of(event.object)
            if event.type == "DELETED":
                self._due.pop(key, None)
                self._by_uid.pop(event.object["metadata"]["uid"], None)
            else:
                self._by_uid[event.object["metadata"]["uid"]] = key
                self.dirty.add(key)
        elif event.resource is r.JOBS:
            owner = self.jobs.observe(event)
            if owner is not None and owner in self._by_uid:
                self.dirty.add(self._by_uid[owner])

    def next_due(self) -> float | None:
        return min(self._due.values(), default=None)

    def run(self, now_seconds: float) -> bool:
        work = set(self.dirty) | {key for key, due in self._due.items() if due <= now_seconds}
        self.dirty.clear()
        wrote = False
        for key in sorted(work):
            cronjob = self.store.get(r.CRONJOBS, *key)
            if cronjob is not None:
                wrote |= self._sync(cronjob, now_seconds)
        return wrote

    def _owned_jobs(self, cronjob: Obj) -> list[Obj]:
        found = (self.store.get(r.JOBS, *key) for key in self.jobs.children.get(cronjob["metadata"]["uid"], ()))
        return sorted((job for job in found if job is not None), key=lambda job: job["metadata"]["creationTimestamp"])

    def _sync(self, cronjob: Obj, now: float) -> bool:
        try:
            schedule = parse_schedule(str(cronjob["spec"].get("schedule", "")))
        except CronError:
            return False
        status = cronjob.get("status") or {}
        since = (
            parse_time(status.get("lastScheduleTime")) or parse_time(cronjob["metadata"]["creationTimestamp"]) or now
        )
        due = next_after(schedule, since)
        wrote = False
        jobs = self._owned_jobs(cronjob)
        last_scheduled: float | None = None
        if due <= now and not cronjob["spec"].get("suspend"):
            latest = due
            while (following := next_after(schedule, latest)) <= now:
                latest = following  # only the most recent missed time runs
            if self._start(cronjob, jobs, latest):
                wrote = True
            last_scheduled = latest
            due = next_after(schedule, latest)
        self._due[key_of(cronjob)] = due
        jobs = self._owned_jobs(cronjob)
        wrote |= self._cleanup(cronjob, jobs)
        return self._write_status(cronjob, self._owned_jobs(cronjob), last_scheduled) or wrote

    def _start(self, cronjob: Obj, jobs: list[Obj], scheduled: float) -> bool:
        active = [job for job in jobs if not _finished(job)]
        policy = cronjob["spec"].get("concurrencyPolicy", "Allow")
        if active and policy == "Forbid":
            return False
        if active and policy == "Replace":
            for job in active:
                self.store.delete_cascade(r.JOBS, *key_of(job))
                self.recorder.record(
                    cronjob,
                    "Normal",
                    "SuccessfulDelete",
                    f"Deleted job {job['metadata']['name']}",
                    "cronjob-controller",
                )
        template = copy.deepcopy(cronjob["spec"].get("jobTemplate") or {})
        name = f"{cronjob['metadata']['name']}-{math.floor(scheduled / 60)}"
        meta = template.get("metadata") or {}
        created: Obj = {
            "metadata": {
                **meta,
                "name": name,
                "namespace": cronjob["metadata"]["namespace"],
                "annotations": {
                    **(meta.get("annotations") or {}),
                    SCHEDULED_ANNOTATION: self.store.clock.rfc3339(scheduled),
                },
                "ownerReferences": [owner_reference(cronjob)],
            },
            "spec": template.get("spec") or {},
        }
        try:
            self.store.create(r.JOBS, created)
        except ApiError as error:
            self.recorder.record(
                cronjob, "Warning", "FailedCreate", f"Error creating job: {error.message}", "cronjob-controller"
            )
            return False
        self.recorder.record(cronjob, "Normal", "SuccessfulCreate", f"Created job {name}", "cronjob-controller")
        return True

    def _cleanup(self, cronjob: Obj, jobs: list[Obj]) -> bool:
        wrote = False
        for outcome, field, default in (
            ("Complete", "successfulJobsHistoryLimit", 3),
            ("Failed", "failedJobsHistoryLimit", 1),
        ):
            limit = int(cronjob["spec"].get(field, default))
            finished = [job for job in jobs if _finished(job) == outcome]
            for job in finished[: max(len(finished) - limit, 0)]:
                self.store.delete_cascade(r.JOBS, *key_of(job))
                self.recorder.record(
                    cronjob,
                    "Normal",
                    "SuccessfulDelete",
                    f"Deleted job {job['metadata']['name']}",
                    "cronjob-controller",
                )
                wrote = True
        return wrote

    def _write_status(self, cronjob: Obj, jobs: list[Obj], scheduled: float | None) -> bool:
        clock = self.store.clock
        active = [
            {
                "kind": "Job",
                "namespace": job["metadata"]["namespace"],
                "name": job["metadata"]["name"],
                "uid": job["metadata"]["uid"],
                "apiVersion": "batch/v1",
            }
            for job in jobs
            if not _finished(job)
        ]
        succeeded = [job for job in jobs if _finished(job) == "Complete"]

        def change(obj: Obj) -> None:
            status = obj.setdefault("status", {})
            if active:
                status["active"] = active
            else:
                status.pop("active", None)
            if scheduled is not None:
                status["lastScheduleTime"] = clock.rfc3339(scheduled)
            if succeeded:
                status["lastSuccessfulTime"] = succeeded[-1]["status"].get("completionTime")

        before = cronjob["metadata"]["resourceVersion"]
        after = self.store.mutate(r.CRONJOBS, *key_of(cronjob), change)
        return after is not None and after["metadata"]["resourceVersion"] != before
