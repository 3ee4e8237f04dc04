"""The adapter's own errors, so nothing above `k8s/` ever catches a client-library exception.

kubernetes_asyncio raises `ApiException`, aiohttp raises `ClientError`, asyncio raises `TimeoutError`;
`k8s/connection.py` maps all of them onto this tree (with `raise ... from exc`), and the live model
and the API layer only ever handle these:

    ClusterError                    anything that went wrong talking to the cluster
    ├── ClusterConfigError          no usable kubeconfig / in-cluster config
    ├── ClusterUnavailableError          connection refused, timeout, 5xx: try again later
    │   └── ClusterThrottledError        429 (or a 5xx carrying Retry-After): wait `retry_after_seconds`
    ├── ClusterForbiddenError            401/403: the credentials may not read this
    ├── ClusterNotFoundError             404: the resource (or the whole API group) does not exist
    ├── ClusterConflictError             409: the object changed under us (optimistic concurrency)
    ├── ClusterInvalidError              400/422: the server rejected what we sent
    ├── ResourceExpiredError             410 Gone: the resourceVersion was compacted; relist
    └── ResourceVersionTooLargeError     504 "Too large resource version": the server is behind us; relist

Every error carries the HTTP status when there was one, so callers can report it verbatim.
"""

from __future__ import annotations


class ClusterError(Exception):
    """Base of every error the Kubernetes adapter raises."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ClusterConfigError(ClusterError):
    """No kubeconfig, an unknown context or a broken in-cluster service account."""


class ClusterUnavailableError(ClusterError):
    """The API server could not be reached or failed (timeouts, refused connections, 5xx)."""


class ClusterThrottledError(ClusterUnavailableError):
    """The server asked us to slow down; `retry_after_seconds` is its Retry-After (None when absent)."""

    def __init__(self, message: str, *, status: int | None = None, retry_after_seconds: float | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after_seconds = retry_after_seconds


class ClusterForbiddenError(ClusterError):
    """401/403: the credentials do not allow this read or write."""


class ClusterNotFoundError(ClusterError):
    """404: the object, or the API group itself (e.g. metrics.k8s.io without metrics-server)."""


class ClusterConflictError(ClusterError):
    """409: a write raced with another writer."""


class ClusterInvalidError(ClusterError):
    """400/422: the request was rejected as malformed or invalid."""


class ResourceExpiredError(ClusterError):
    """410 Gone: the watch's resourceVersion is too old; the informer must list again."""


class ResourceVersionTooLargeError(ClusterError):
    """The server's resourceVersions are behind ours (it was restarted, or etcd was restored): relist.

    kube-apiserver answers a watch from a resourceVersion it has not reached with 504 and a Status whose
    cause is `ResourceVersionTooLarge` ("Timeout: Too large resource version: X, current: Y"); client-go's
    reflector relists on it, and so do we — resuming from our resourceVersion would never succeed.
    """


TOO_LARGE_CAUSE = "ResourceVersionTooLarge"
TOO_LARGE_MESSAGE = "Too large resource version"


def is_too_large_status(status: int, body: object) -> bool:
    """client-go's isTooLargeResourceVersionError: the cause, or (older servers) a timeout with the message."""
    if status != 504 or not isinstance(body, dict):
        return False
    details = body.get("details")
    causes = details.get("causes") if isinstance(details, dict) else None
    if isinstance(causes, list) and any(isinstance(c, dict) and c.get("reason") == TOO_LARGE_CAUSE for c in causes):
        return True
    return TOO_LARGE_MESSAGE in str(body.get("message") or "")


def error_for_status(status: int, message: str, *, retry_after_seconds: float | None = None) -> ClusterError:
    """The error class the adapter raises for an HTTP status (pure, so writer.py can reuse it)."""
    if status == 429 or (status >= 500 and retry_after_seconds is not None):
        return ClusterThrottledError(message, status=status, retry_after_seconds=retry_after_seconds)
    if status >= 500:
        return ClusterUnavailableError(message, status=status)
    by_status: dict[int, type[ClusterError]] = {
        401: ClusterForbiddenError,
        403: ClusterForbiddenError,
        404: ClusterNotFoundError,
        409: ClusterConflictError,
        410: ResourceExpiredError,
        400: ClusterInvalidError,
        422: ClusterInvalidError,
    }
    return by_status.get(status, ClusterError)(message, status=status)
