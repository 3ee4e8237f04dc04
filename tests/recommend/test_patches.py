from __future__ import annotations

import yaml
from hypothesis import given, strategies as st

from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.domain.quantities import MIB
from k8s_optimizer.recommend.model import HPASettings, ResourceValues
from k8s_optimizer.recommend.patches import (
    hpa_patch,
    kubectl_patch,
    patch_yaml,
    recommendation_id,
    resources_patch,
    verify_commands,
)

WEB = ObjectRef("Deployment", "shop", "web")


def test_resources_patch_only_carries_changes_and_nulls_removed_limits():
    patch = resources_patch(
        "app",
        ResourceValues(1000, 2000, 512 * MIB, 512 * MIB),
        ResourceValues(245, None, 138 * MIB, 512 * MIB),
    )
    assert patch == {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "resources": {"requests": {"cpu": "245m", "memory": "138Mi"}, "limits": {"cpu": None}},
                        }
                    ]
                }
            }
        }
    }


def test_kubectl_command_is_exact():
    patch = resources_patch("app", ResourceValues(1000, None, None, None), ResourceValues(250, None, None, None))
    assert kubectl_patch(WEB, patch) == (
        "kubectl -n shop patch deployment web --type strategic -p "
        """'{"spec":{"template":{"spec":{"containers":[{"name":"app","resources":{"requests":{"cpu":"250m"}}}]}}}}'"""
    )


def test_hpa_patch_and_verify():
    hpa = ObjectRef("HorizontalPodAutoscaler", "shop", "echo")
    patch = hpa_patch(HPASettings(2, 6, 70))
    assert patch["spec"]["minReplicas"] == 2
    assert patch["spec"]["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}
    assert kubectl_patch(hpa, patch).startswith("kubectl -n shop patch hpa echo --type strategic -p '{")
    assert verify_commands(hpa, None) == ("kubectl -n shop get hpa echo", "kubectl -n shop describe hpa echo")
    jsonpath = """'{.spec.template.spec.containers[?(@.name=="app")].resources}'"""
    assert verify_commands(WEB, "app")[1] == f"kubectl -n shop get deployment web -o jsonpath={jsonpath}"


def test_patch_yaml_reads_back():
    patch = resources_patch(
        "app", ResourceValues(1000, 2000, None, None), ResourceValues(1, None, 100 * MIB, 100 * MIB)
    )
    assert yaml.safe_load(patch_yaml(patch)) == patch
    assert patch_yaml(patch).startswith("spec:\n  template:\n    spec:\n      containers:\n      - name: app\n")


scalars = st.one_of(st.none(), st.integers(), st.booleans(), st.text(st.characters(codec="ascii"), max_size=12))
trees = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.from_regex(r"[a-zA-Z][a-zA-Z0-9]{0,8}", fullmatch=True), children, max_size=3),
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.from_regex(r"[a-z][a-zA-Z]{0,8}", fullmatch=True), trees, min_size=1, max_size=3))
def test_patch_yaml_round_trips_any_tree(tree):
    assert yaml.safe_load(patch_yaml(tree)) == tree


def test_patch_yaml_quotes_a_trailing_newline():
    # Found by the property above: a plain `a: A` followed by a newline loads back without it.
    assert patch_yaml({"a": "A\n"}) == 'a: "A\\n"\n'
    assert yaml.safe_load(patch_yaml({"a": "A\n"})) == {"a": "A\n"}


def test_patch_yaml_quotes_reserved_keys():
    # Found by the property above: YAML 1.1 reads a plain `on:` key as the boolean True.
    assert patch_yaml({"on": None, "spec": {"off": 1}}) == '"on": null\nspec:\n  "off": 1\n'
    assert yaml.safe_load(patch_yaml({"on": None, "spec": {"off": 1}})) == {"on": None, "spec": {"off": 1}}


def test_ids_are_stable_and_proposal_sensitive():
    first = recommendation_id(WEB, "app", "resources", ResourceValues(245, None, None, None))
    assert first == recommendation_id(WEB, "app", "resources", ResourceValues(245, None, None, None))
    assert first != recommendation_id(WEB, "app", "resources", ResourceValues(246, None, None, None))
    assert len(first) == 16
