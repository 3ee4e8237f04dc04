from __future__ import annotations

import pytest

from k8s_optimizer.domain.quantities import (
    QuantityError,
    format_cpu,
    format_memory,
    parse_cpu_millicores,
    parse_cpu_millicores_float,
    parse_memory_bytes,
)


@pytest.mark.parametrize(
    ("text", "millicores"),
    [("250m", 250), ("0.5", 500), ("1", 1000), ("2", 2000), ("1500000n", 2), ("100u", 1), (1, 1000)],
)
def test_parse_cpu_millicores(text: str, millicores: int) -> None:
    assert parse_cpu_millicores(text) == millicores


def test_cpu_usage_keeps_fractions() -> None:
    assert parse_cpu_millicores_float("1500000n") == 1.5


@pytest.mark.parametrize(
    ("text", "memory_bytes"),
    [("128Mi", 134217728), ("1G", 1_000_000_000), ("512Ki", 524288), ("1Gi", 1073741824), ("100", 100), ("1e3", 1000)],
)
def test_parse_memory_bytes(text: str, memory_bytes: int) -> None:
    assert parse_memory_bytes(text) == memory_bytes


@pytest.mark.parametrize("text", ["", "abc", "12Xi", "1.2.3"])
def test_bad_quantities_are_rejected(text: str) -> None:
    with pytest.raises(QuantityError):
        parse_cpu_millicores(text)


@pytest.mark.parametrize(("millicores", "text"), [(1000, "1"), (1500, "1500m"), (250, "250m"), (249.2, "250m")])
def test_format_cpu(millicores: float, text: str) -> None:
    assert format_cpu(millicores) == text


@pytest.mark.parametrize(
    ("memory_bytes", "text"), [(134217728, "128Mi"), (1073741824, "1Gi"), (1536, "1536"), (134217729, "129Mi")]
)
def test_format_memory(memory_bytes: int, text: str) -> None:
    assert format_memory(memory_bytes) == text
