"""The undo-patch and diff helpers behind safe apply (pure functions, exact values)."""

from __future__ import annotations

from k8s_optimizer.api.patching import comparable, diff_paths, inverse_patch
from k8s_sim.patch import strategic_merge_patch

CURRENT = {
    "metadata": {"name": "web", "managedFields": [{}], "resourceVersion": "9"},
    "spec": {
        "replicas": 3,
        "template": {
            "spec": {
                "containers": [
                    {"name": "app", "resources": {"requests": {"cpu": "500m"}, "limits": {"memory": "1Gi"}}},
                    {"name": "side", "image": "busybox"},
                ]
            }
        },
    },
    "status": {"replicas": 3},
}


def test_inverse_restores_changed_removed_and_added_keys() -> None:
    patch = {
        "spec": {
            "replicas": 2,
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": None}},
                        }
                    ]
                }
            },
        }
    }
    undo = inverse_patch(CURRENT, patch)
    assert undo == {
        "spec": {
            "replicas": 3,
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "resources": {"requests": {"cpu": "500m", "memory": None}, "limits": {"memory": "1Gi"}},
                        }
                    ]
                }
            },
        }
    }
    patched = strategic_merge_patch(CURRENT, patch)
    assert strategic_merge_patch(patched, undo) == CURRENT


def test_inverse_of_a_new_container_deletes_it() -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "new", "image": "x"}]}}}}
    assert inverse_patch(CURRENT, patch) == {
        "spec": {"template": {"spec": {"containers": [{"name": "new", "$patch": "delete"}]}}}
    }


def test_inverse_replaces_unkeyed_lists_whole() -> None:
    current = {"spec": {"metrics": [{"type": "Resource"}]}}
    assert inverse_patch(current, {"spec": {"metrics": [{"type": "Pods"}]}}) == {
        "spec": {"metrics": [{"type": "Resource"}]}
    }


def test_diff_paths_only_lists_changes() -> None:
    patch = {
        "spec": {
            "replicas": 3,
            "template": {"spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": "1"}}}]}},
        }
    }
    after = strategic_merge_patch(CURRENT, patch)
    assert [(d.path, d.before, d.after) for d in diff_paths(CURRENT, after, patch)] == [
        ("spec.template.spec.containers[app].resources.requests.cpu", "500m", "1")
    ]


def test_comparable_strips_status_and_server_fields() -> None:
    assert comparable(CURRENT)["metadata"] == {"name": "web"}
    assert "status" not in comparable(CURRENT)
