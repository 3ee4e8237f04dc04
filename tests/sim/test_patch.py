"""Strategic merge, JSON merge and JSON patch give exactly what the API server gives."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, strategies as st

from k8s_sim.patch import PatchError, json_merge_patch, json_patch, strategic_merge_patch

POD_SPEC: dict[str, Any] = {
    "containers": [
        {
            "name": "app",
            "image": "app:1",
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
            "ports": [{"containerPort": 80, "name": "http"}],
            "volumeMounts": [{"mountPath": "/data", "name": "data"}],
        },
        {"name": "sidecar", "image": "envoy:1"},
    ],
    "volumes": [{"name": "data", "emptyDir": {}}],
    "tolerations": [{"key": "a", "operator": "Exists"}],
}


def test_strategic_patch_merges_a_container_by_name_and_keeps_the_others() -> None:
    patched = strategic_merge_patch(POD_SPEC, {"containers": [{"name": "app", "image": "app:2"}]})
    assert [c["name"] for c in patched["containers"]] == ["app", "sidecar"]
    assert patched["containers"][0]["image"] == "app:2"
    assert patched["containers"][0]["env"] == POD_SPEC["containers"][0]["env"]
    assert POD_SPEC["containers"][0]["image"] == "app:1"  # input untouched


def test_strategic_patch_merges_env_by_name_ports_by_container_port_and_mounts_by_path() -> None:
    patch = {
        "containers": [
            {
                "name": "app",
                "env": [{"name": "B", "value": "20"}, {"name": "C", "value": "3"}],
                "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 9090}],
                "volumeMounts": [{"mountPath": "/data", "readOnly": True}],
            }
        ]
    }
    app = strategic_merge_patch(POD_SPEC, patch)["containers"][0]
    assert app["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "20"}, {"name": "C", "value": "3"}]
    assert app["ports"] == [{"containerPort": 80, "name": "http", "protocol": "TCP"}, {"containerPort": 9090}]
    assert app["volumeMounts"] == [{"mountPath": "/data", "name": "data", "readOnly": True}]


def test_service_ports_merge_by_port() -> None:
    spec = {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443, "targetPort": 8443}]}
    patched = strategic_merge_patch(spec, {"ports": [{"port": 443, "nodePort": 30443}]})
    assert patched["ports"] == [{"port": 80, "targetPort": 8080}, {"port": 443, "targetPort": 8443, "nodePort": 30443}]


def test_tolerations_are_replaced_atomically() -> None:
    patched = strategic_merge_patch(POD_SPEC, {"tolerations": [{"key": "b", "operator": "Exists"}]})
    assert patched["tolerations"] == [{"key": "b", "operator": "Exists"}]


def test_patch_delete_directive_removes_the_keyed_item() -> None:
    patched = strategic_merge_patch(POD_SPEC, {"containers": [{"name": "sidecar", "$patch": "delete"}]})
    assert [c["name"] for c in patched["containers"]] == ["app"]


def test_patch_replace_directive_in_a_list_and_in_a_map() -> None:
    listed = strategic_merge_patch(POD_SPEC, {"volumes": [{"name": "cache", "emptyDir": {}}, {"$patch": "replace"}]})
    assert listed["volumes"] == [{"name": "cache", "emptyDir": {}}]
    mapped = strategic_merge_patch({"a": {"x": 1, "y": 2}}, {"a": {"z": 3, "$patch": "replace"}})
    assert mapped == {"a": {"z": 3}}


def test_null_deletes_a_key_and_kubectl_bookkeeping_keys_are_honoured() -> None:
    patched = strategic_merge_patch(
        {"metadata": {"labels": {"a": "1", "b": "2"}, "finalizers": ["x", "y"]}},
        {
            "metadata": {
                "labels": {"a": None},
                "$deleteFromPrimitiveList/finalizers": ["x"],
                "$setElementOrder/finalizers": ["y"],
            }
        },
    )
    assert patched == {"metadata": {"labels": {"b": "2"}, "finalizers": ["y"]}}


def test_set_element_order_reorders_merged_items() -> None:
    patched = strategic_merge_patch(
        POD_SPEC, {"$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}], "containers": []}
    )
    assert [c["name"] for c in patched["containers"]] == ["sidecar", "app"]


def test_strategic_patch_must_be_an_object() -> None:
    with pytest.raises(PatchError) as raised:
        strategic_merge_patch(POD_SPEC, [{"op": "add"}])
    assert raised.value.code == 400


@pytest.mark.parametrize(
    ("target", "patch", "expected"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_json_merge_patch_rfc7386_examples(target: Any, patch: Any, expected: Any) -> None:
    assert json_merge_patch(target, patch) == expected


def test_json_merge_patch_replaces_lists_whole() -> None:
    patched = json_merge_patch({"spec": POD_SPEC}, {"spec": {"containers": [{"name": "only"}]}})
    assert patched["spec"]["containers"] == [{"name": "only"}]


DOC = {"spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}}}}


@pytest.mark.parametrize(
    ("operations", "expected"),
    [
        ([{"op": "replace", "path": "/spec/replicas", "value": 5}], 5),
        (
            [{"op": "test", "path": "/spec/replicas", "value": 2}, {"op": "add", "path": "/spec/replicas", "value": 3}],
            3,
        ),
        ([{"op": "remove", "path": "/spec/replicas"}], None),
        (
            [
                {"op": "copy", "from": "/spec/replicas", "path": "/spec/x"},
                {"op": "move", "from": "/spec/x", "path": "/spec/replicas"},
            ],
            2,
        ),
    ],
)
def test_json_patch_operations(operations: list[Any], expected: Any) -> None:
    assert json_patch(DOC, operations)["spec"].get("replicas") == expected


def test_json_patch_list_indexes_dash_and_escapes() -> None:
    patched = json_patch(
        {"containers": [{"name": "a"}], "metadata": {"annotations": {}}},
        [
            {"op": "add", "path": "/containers/-", "value": {"name": "c"}},
            {"op": "add", "path": "/containers/0", "value": {"name": "z"}},
            {"op": "add", "path": "/metadata/annotations/example.com~1team", "value": "x"},
        ],
    )
    assert [c["name"] for c in patched["containers"]] == ["z", "a", "c"]
    assert patched["metadata"]["annotations"] == {"example.com/team": "x"}


@pytest.mark.parametrize(
    ("operations", "code"),
    [
        ({"spec": {"replicas": 3}}, 400),  # CustomObjectsApi sends a dict as json-patch: a real server says 400
        ([{"op": "test", "path": "/spec/replicas", "value": 9}], 422),
        ([{"op": "replace", "path": "/spec/missing/x", "value": 1}], 422),
        ([{"op": "jump", "path": "/spec"}], 400),
        ([{"path": "/spec"}], 400),
        ([{"op": "add", "path": "/spec/x"}], 400),
    ],
)
def test_bad_json_patches_are_rejected_with_the_api_servers_code(operations: Any, code: int) -> None:
    with pytest.raises(PatchError) as raised:
        json_patch(DOC, operations)
    assert raised.value.code == code


_SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
_KEYS = st.text(alphabet="abcxyz", min_size=1, max_size=3)
_MAPS = st.recursive(_SCALARS, lambda inner: st.dictionaries(_KEYS, inner, max_size=4), max_leaves=12).filter(
    lambda value: isinstance(value, dict)
)


@given(target=_MAPS, patch=_MAPS)
def test_merge_patch_is_idempotent(target: Any, patch: Any) -> None:
    once = json_merge_patch(target, patch)
    assert json_merge_patch(once, patch) == once


@given(target=_MAPS, patch=_MAPS)
def test_strategic_patch_of_plain_maps_is_a_merge_patch(target: Any, patch: Any) -> None:
    assert strategic_merge_patch(target, patch) == json_merge_patch(target, patch)


@given(document=_MAPS, value=_SCALARS)
def test_json_patch_add_then_test_then_remove_round_trips(document: Any, value: Any) -> None:
    operations = [
        {"op": "add", "path": "/new~1key", "value": value},
        {"op": "test", "path": "/new~1key", "value": value},
        {"op": "remove", "path": "/new~1key"},
    ]
    expected = {k: v for k, v in document.items() if k != "new/key"}
    assert json_patch(document, operations) == expected
