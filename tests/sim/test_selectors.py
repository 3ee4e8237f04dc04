"""Label and field selectors parse like the API server's and match like it."""

from __future__ import annotations

import pytest

from k8s_sim.selectors import (
    SelectorError,
    format_selector,
    parse_field_selector,
    parse_label_selector,
    selector_from_match_labels,
)

LABELS = {"app": "web", "tier": "frontend", "env": "prod"}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", True),
        ("app==web", True),
        ("app=api", False),
        ("app!=api", True),
        ("missing!=x", True),
        ("app in (web,api)", True),
        ("app in (api, db)", False),
        ("app notin (api,db)", True),
        ("missing notin (a)", True),
        ("tier", True),
        ("missing", False),
        ("!missing", True),
        ("!app", False),
        ("app=web,tier in (frontend),!canary,env", True),
        ("app=web,env=dev", False),
        ("", True),
    ],
    ids=lambda value: str(value),
)
def test_label_selector_matches_like_the_api_server(selector: str, expected: bool) -> None:
    assert parse_label_selector(selector).matches(LABELS) is expected


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("app in (web", 'unable to parse requirement: "app in (web"'),
        ("a b", 'unable to parse requirement: "a b"'),
        ("app=we b", 'invalid label value "we b"'),
        ("-bad=x", 'invalid label key "-bad"'),
        ("app=" + "x" * 64, "invalid label value"),
    ],
)
def test_malformed_label_selector_is_rejected_naming_the_term(selector: str, message: str) -> None:
    with pytest.raises(SelectorError) as raised:
        parse_label_selector(selector)
    assert message in str(raised.value)


def test_match_expressions_become_requirements_and_format_back() -> None:
    spec = {
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["frontend", "edge"]},
            {"key": "canary", "operator": "DoesNotExist"},
        ],
    }
    selector = selector_from_match_labels(spec)
    assert selector.matches(LABELS) is True
    assert selector.matches({**LABELS, "canary": "yes"}) is False
    assert format_selector(spec) == "app=web,tier in (frontend,edge),!canary"


POD = {"metadata": {"name": "p1", "namespace": "ns"}, "spec": {"nodeName": "w1"}, "status": {"phase": "Running"}}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("metadata.name=p1", True),
        ("metadata.namespace=other", False),
        ("spec.nodeName=w1,status.phase=Running", True),
        ("status.phase!=Running", False),
        ("spec.nodeName=", False),
        ("status.podIP=", True),
    ],
)
def test_pod_field_selectors(selector: str, expected: bool) -> None:
    assert parse_field_selector(selector, "Pod").matches(POD) is expected


def test_event_involved_object_field_selector() -> None:
    event = {"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "p1"}}
    assert parse_field_selector("involvedObject.kind=Pod,involvedObject.name=p1", "Event").matches(event)
    assert not parse_field_selector("involvedObject.name=p2", "Event").matches(event)


def test_unknown_field_is_rejected_listing_the_supported_ones() -> None:
    with pytest.raises(SelectorError, match=r'"spec.replicas" is not a known field selector: only "metadata.name'):
        parse_field_selector("spec.replicas=3", "Deployment")


def test_field_term_without_operator_is_rejected() -> None:
    with pytest.raises(SelectorError, match="invalid field selector term"):
        parse_field_selector("metadata.name", "Pod")
