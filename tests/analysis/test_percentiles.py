from __future__ import annotations

import pytest

from k8s_optimizer.analysis.percentiles import linear_percentile


@pytest.mark.parametrize(
    ("values", "percentile", "expected"),
    [([1, 2, 3, 4], 50, 2.5), ([1, 2, 3, 4], 95, 3.85), ([5], 90, 5.0), ([10, 0], 0, 0.0), ([10, 0], 100, 10.0)],
)
def test_linear_percentile_matches_numpy(values, percentile, expected):
    assert linear_percentile(values, percentile) == pytest.approx(expected)


def test_linear_percentile_of_nothing_is_an_error():
    with pytest.raises(ValueError, match="empty"):
        linear_percentile([], 50)
