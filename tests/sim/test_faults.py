"""The --faults grammar: every knob parses, and every mistake names the offending term."""

from __future__ import annotations

import pytest

from k8s_sim.faults import Faults, FaultSpec, FaultSpecError, parse_faults


def test_full_spec_parses_every_knob() -> None:
    spec = parse_faults("watch-drop=5,error-rate=0.2,retry-after=1,latency-ms=50,expire-rv=30,metrics-outage=60@10")
    assert spec == FaultSpec(
        watch_drop_seconds=5.0,
        error_rate=0.2,
        retry_after_seconds=1,
        latency_ms=50.0,
        expire_rv_seconds=30.0,
        metrics_outage_seconds=60.0,
        metrics_outage_start_seconds=10.0,
        text="watch-drop=5,error-rate=0.2,retry-after=1,latency-ms=50,expire-rv=30,metrics-outage=60@10",
    )
    assert spec.effective_error_code == 429


@pytest.mark.parametrize(
    ("text", "code"), [("error-rate=0.5", 500), ("error-rate=0.5,error-code=503", 503), ("retry-after=3", 429)]
)
def test_error_code_defaults(text: str, code: int) -> None:
    assert parse_faults(text).effective_error_code == code


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("error-rate=1.5", "fault 'error-rate=1.5': value must be >= 0.0 and <= 1.0"),
        ("watch-drop=0", "fault 'watch-drop=0': value must be > 0.0"),
        ("latency-ms=fast", "fault 'latency-ms=fast': 'fast' is not a number"),
        ("error-code=404", "fault 'error-code=404': error-code must be one of 429, 500, 503"),
        ("explode=1", "unknown fault 'explode' in 'explode=1'"),
        ("watch-drop", "fault term 'watch-drop' must look like key=value"),
        ("metrics-outage=60@x", "fault 'metrics-outage=60@x': 'x' is not a number"),
    ],
)
def test_bad_specs_name_the_term(text: str, message: str) -> None:
    with pytest.raises(FaultSpecError) as raised:
        parse_faults(text)
    assert str(raised.value).startswith(message)


def test_empty_spec_means_no_faults_and_error_injection_follows_the_rate() -> None:
    assert parse_faults(" , ") == FaultSpec(text=",")
    faults = Faults(parse_faults("error-rate=0.25"), seed=3)
    errors = [faults.injected_error() for _ in range(4000)]
    assert 900 < errors.count(500) < 1100
    assert set(errors) == {None, 500}
    assert Faults().injected_error() is None


def test_metrics_outage_window_starts_after_the_delay() -> None:
    assert Faults(parse_faults("metrics-outage=60")).metrics_unavailable() is True
    assert Faults(parse_faults("metrics-outage=60@30")).metrics_unavailable() is False
    described = Faults(parse_faults("metrics-outage=60")).describe()
    assert (described["metricsOutageSeconds"], described["metricsUnavailable"]) == (60.0, True)
