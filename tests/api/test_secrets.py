"""Redaction of whole objects (dry-run diffs) and of annotations (workload answers)."""

from __future__ import annotations

import json

from k8s_optimizer.api.patching import unified_diff
from k8s_optimizer.api.secrets import REDACTED, public_annotations, redact_object

MANIFEST = {
    "spec": {"template": {"spec": {"containers": [{"name": "app", "env": [{"name": "DB_PASSWORD", "value": "pw"}]}]}}}
}
DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {
        "name": "web",
        "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": json.dumps(MANIFEST),
            "team": "payments",
        },
    },
    "spec": {
        "template": {
            "spec": {
                "initContainers": [{"name": "init", "env": [{"name": "TOKEN", "value": "init-secret"}]}],
                "containers": [
                    {
                        "name": "app",
                        "env": [
                            {"name": "DB_PASSWORD", "value": "pw"},
                            {"name": "REF", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
                        ],
                        "resources": {"requests": {"cpu": "500m"}},
                    }
                ],
            }
        }
    },
}


def test_env_values_and_the_last_applied_manifest_are_redacted() -> None:
    redacted = redact_object(DEPLOYMENT)
    assert redacted["metadata"]["annotations"] == {"team": "payments"}
    spec = redacted["spec"]["template"]["spec"]
    assert spec["initContainers"][0]["env"] == [{"name": "TOKEN", "value": REDACTED}]
    assert spec["containers"][0]["env"] == [
        {"name": "DB_PASSWORD", "value": REDACTED},
        {"name": "REF", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
    ]
    assert spec["containers"][0]["resources"] == {"requests": {"cpu": "500m"}}
    assert DEPLOYMENT["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] == "pw"  # type: ignore[index]


def test_secret_data_is_redacted() -> None:
    secret = {
        "kind": "Secret",
        "metadata": {"name": "db"},
        "data": {"password": "aHVudGVyMg=="},
        "stringData": {"a": "b"},
    }
    assert redact_object(secret) == {
        "kind": "Secret",
        "metadata": {"name": "db"},
        "data": {"password": REDACTED},
        "stringData": {"a": REDACTED},
    }


def test_public_annotations() -> None:
    assert public_annotations({"kubectl.kubernetes.io/last-applied-configuration": "{}", "a": "b"}) == {"a": "b"}


def test_a_diff_that_changes_env_shows_no_value() -> None:
    after = json.loads(json.dumps(DEPLOYMENT))
    after["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] = "new-pw"
    after["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "150m"
    diff = unified_diff(DEPLOYMENT, after, "Deployment/default/web")
    assert "pw" not in diff.replace("Deployment", "")
    assert "-              cpu: 500m\n" in diff or "-            cpu: 500m\n" in diff
