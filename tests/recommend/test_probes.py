from __future__ import annotations

import yaml

from k8s_optimizer.domain.objects import ContainerPort
from k8s_optimizer.recommend.probes import probe_recommendations
from tests.recommend.factories import container, deployment


def test_missing_probes_become_one_patch_per_container():
    web = deployment(containers=[container(readiness=None, liveness=None), container("sidecar", ports=())])
    [rec] = probe_recommendations(web)
    assert (rec.kind, rec.container, rec.priority) == ("probe", "app", "medium")
    [patched] = rec.patch["spec"]["template"]["spec"]["containers"]
    assert patched["readinessProbe"] == {"tcpSocket": {"port": "http"}, "periodSeconds": 10, "failureThreshold": 3}
    assert patched["livenessProbe"]["failureThreshold"] == 6
    assert yaml.safe_load(rec.patch_yaml) == rec.patch
    assert rec.rationale.startswith("no readiness and liveness probe: add a TCP check on port http")


def test_only_the_missing_probe_is_proposed_and_unnamed_ports_use_the_number():
    web = deployment(containers=[container(liveness=None, ports=(ContainerPort(9000),))])
    [rec] = probe_recommendations(web)
    [patched] = rec.patch["spec"]["template"]["spec"]["containers"]
    assert set(patched) == {"name", "livenessProbe"}
    assert patched["livenessProbe"]["tcpSocket"] == {"port": 9000}
    assert rec.priority == "low"


def test_nothing_to_propose():
    assert probe_recommendations(deployment()) == []
    assert probe_recommendations(deployment(containers=[container(readiness=None, ports=())])) == []
