"""What stops a kubelet from starting a container, with the kubelet's own reasons, messages and events.

- a volume from a Secret/ConfigMap that does not exist (not `optional`): the pod stays ContainerCreating
  with `FailedMount` "MountVolume.SetUp failed for volume …";
- an image marked unpullable (the cluster's `unpullable_images` knob, `/sim/v1/images`): `ErrImagePull`, then
  `ImagePullBackOff` with the kubelet's image back-off (10 s doubling to 300 s);
- an env/envFrom reference to a missing Secret/ConfigMap or key: `CreateContainerConfigError`.
Each is re-checked every `RETRY_SECONDS`, so creating the missing object lets the container start, as on
a cluster. Pure functions of the store and the pod; the kubelet applies them.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from k8s_sim import resources as r
from k8s_sim.store import Obj, ObjectStore, ResourceType

RETRY_SECONDS = 10.0
PULL_BACKOFF_INITIAL_SECONDS = 10.0
PULL_BACKOFF_MAX_SECONDS = 300.0
BLOCKING_REASONS = ("CreateContainerConfigError", "ErrImagePull", "ImagePullBackOff")


@dataclass(frozen=True, slots=True)
class Blocker:
    reason: str  # the container's waiting reason ("" keeps ContainerCreating)
    message: str
    events: tuple[tuple[str, str, str], ...]  # (type, reason, message)


def _kind_of(ref_kind: str) -> tuple[ResourceType, str, str]:
    return (r.SECRETS, "secret", "Secret") if ref_kind == "secret" else (r.CONFIGMAPS, "configmap", "ConfigMap")


def mount_blocker(store: ObjectStore, pod: Obj) -> Blocker | None:
    namespace = pod["metadata"].get("namespace", "")
    for volume in (pod.get("spec") or {}).get("volumes") or ():
        for field, kind in (("secret", "secret"), ("configMap", "configmap")):
            source = volume.get(field)
            if not source or source.get("optional"):
                continue
            name = source.get("secretName") if field == "secret" else source.get("name")
            rt, word, _ = _kind_of(kind)
            if store.get(rt, namespace, str(name)) is None:
                message = f'MountVolume.SetUp failed for volume "{volume.get("name")}" : {word} "{name}" not found'
                return Blocker("", "", (("Warning", "FailedMount", message),))
    return None


def _missing_reference(store: ObjectStore, namespace: str, container: Obj) -> str | None:
    for entry in container.get("env") or ():
        source = entry.get("valueFrom") or {}
        for field, kind in (("secretKeyRef", "secret"), ("configMapKeyRef", "configmap")):
            ref = source.get(field)
            if not ref or ref.get("optional"):
                continue
            rt, word, title = _kind_of(kind)
            found = store.get(rt, namespace, str(ref.get("name")))
            if found is None:
                return f'{word} "{ref.get("name")}" not found'
            data = {**(found.get("data") or {}), **(found.get("binaryData") or {})}
            if ref.get("key") not in data:
                return f"couldn't find key {ref.get('key')} in {title} {namespace}/{ref.get('name')}"
    for entry in container.get("envFrom") or ():
        for field, kind in (("secretRef", "secret"), ("configMapRef", "configmap")):
            ref = entry.get(field)
            if not ref or ref.get("optional"):
                continue
            rt, word, _ = _kind_of(kind)
            if store.get(rt, namespace, str(ref.get("name"))) is None:
                return f'{word} "{ref.get("name")}" not found'
    return None


def config_blocker(store: ObjectStore, pod: Obj, container: Obj) -> Blocker | None:
    problem = _missing_reference(store, pod["metadata"].get("namespace", ""), container)
    if problem is None:
        return None
    return Blocker("CreateContainerConfigError", problem, (("Warning", "Failed", f"Error: {problem}"),))


def is_unpullable(image: str, patterns: frozenset[str]) -> bool:
    return any(fnmatch.fnmatchcase(image, pattern) for pattern in patterns)


def _qualified(image: str) -> str:
    first = image.split("/", 1)[0]
    if "/" not in image:
        image = f"docker.io/library/{image}"
    elif "." not in first and ":" not in first and first != "localhost":
        image = f"docker.io/{image}"
    last = image.rsplit("/", 1)[-1]
    return image if ":" in last or "@" in last else f"{image}:latest"


def pull_blocker(image: str, attempt: int) -> Blocker:
    """The first failed pull is ErrImagePull; later ones wait in ImagePullBackOff."""
    reference = _qualified(image)
    pull_error = (
        f'failed to pull and unpack image "{reference}": failed to resolve reference "{reference}": '
        f"{reference}: not found"
    )
    if attempt == 0:
        return Blocker(
            "ErrImagePull",
            pull_error,
            (
                ("Normal", "Pulling", f'Pulling image "{image}"'),
                ("Warning", "Failed", f'Failed to pull image "{image}": {pull_error}'),
                ("Warning", "Failed", "Error: ErrImagePull"),
            ),
        )
    return Blocker(
        "ImagePullBackOff",
        f'Back-off pulling image "{image}": ErrImagePull: {pull_error}',
        (("Normal", "BackOff", f'Back-off pulling image "{image}"'), ("Warning", "Failed", "Error: ImagePullBackOff")),
    )


def pull_backoff_seconds(attempt: int) -> float:
    return float(min(PULL_BACKOFF_INITIAL_SECONDS * 2 ** max(attempt - 1, 0), PULL_BACKOFF_MAX_SECONDS))
