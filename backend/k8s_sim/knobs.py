"""`/sim/v1/images`: the scenario knob that makes image pulls fail (ErrImagePull → ImagePullBackOff).

Why this exists: on a real cluster a typo in an image tag or a private registry without credentials leaves
pods in ImagePullBackOff; a scenario or a test marks such images here (glob patterns, e.g.
`registry.example/*`), and the kubelets fail their pulls until the mark is removed.
"""

from __future__ import annotations

from aiohttp import web

from k8s_sim.control import Handler
from k8s_sim.wire import Cluster, bad_request, json_response, read_json


def images_handler(cluster: Cluster) -> Handler:
    async def serve(request: web.Request) -> web.Response:
        kubelet = getattr(cluster, "kubelet", None)
        if kubelet is None:
            raise bad_request("this cluster has no kubelets")
        if request.method == "POST":
            body = await read_json(request)
            patterns = body.get("unpullable") if isinstance(body, dict) else None
            if not isinstance(patterns, list) or not all(isinstance(p, str) and p for p in patterns):
                raise bad_request("unpullable: must be a list of non-empty image patterns")
            kubelet.unpullable = frozenset(patterns)
        return json_response({"unpullable": sorted(kubelet.unpullable)})

    return serve
