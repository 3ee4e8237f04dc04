"""Parameter parsing: label selectors, durations and cursors fail with a 4xx naming the field."""

from __future__ import annotations

import pytest

from k8s_optimizer.api.errors import ApiError
from k8s_optimizer.api.params import (
    decode_cursor,
    encode_cursor,
    labels_match,
    page,
    parse_duration_seconds,
    parse_label_selector,
)


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("app=web", [("app", "=", "web")]),
        ("app==web, tier!=db", [("app", "=", "web"), ("tier", "!=", "db")]),
        (
            "app.kubernetes.io/name=x,!legacy,canary",
            [("app.kubernetes.io/name", "=", "x"), ("legacy", "!exists", None), ("canary", "exists", None)],
        ),
        ("", []),
    ],
)
def test_label_selector(text: str, parsed: list[tuple[str, str, str | None]]) -> None:
    assert parse_label_selector(text) == parsed


@pytest.mark.parametrize("text", ["app in (a,b)", "!app=web", "a=b=c", "a b"])
def test_bad_label_selector(text: str) -> None:
    with pytest.raises(ApiError) as error:
        parse_label_selector(text)
    assert error.value.status == 400
    assert error.value.detail.startswith("label_selector: ")


def test_labels_match() -> None:
    labels = {"app": "web", "tier": "front"}
    assert labels_match(labels, parse_label_selector("app=web,tier!=db,!legacy"))
    assert not labels_match(labels, parse_label_selector("app=web,legacy"))
    assert labels_match({}, parse_label_selector("app!=web"))


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("6h", 21600), ("14d", 1209600)])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration_seconds(text, "window") == seconds


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("0s", "window: must be positive"),
        ("15d", "window: '15d' exceeds the 14d maximum"),
        ("1w", "window: '1w' is not a duration like 30m, 6h or 7d"),
        ("-5m", "window: '-5m' is not a duration like 30m, 6h or 7d"),
    ],
)
def test_bad_durations(text: str, detail: str) -> None:
    with pytest.raises(ApiError) as error:
        parse_duration_seconds(text, "window")
    assert (error.value.status, error.value.detail) == (400, detail)


def test_cursor_round_trip_and_paging() -> None:
    assert decode_cursor(encode_cursor(250)) == 250
    assert decode_cursor(None) == 0
    assert page(list(range(5)), 2, None) == ([0, 1], encode_cursor(2), 5)
    assert page(list(range(5)), 2, encode_cursor(4)) == ([4], None, 5)
    with pytest.raises(ApiError):
        decode_cursor(encode_cursor(-1))
