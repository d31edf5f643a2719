"""The flood plot's series: rates of counters read less often than sampled,
and CPU averaged over a window (tools/flood_report.py)."""
import os
import sys

import pytest

TOOLS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "tools")


@pytest.fixture(scope="module")
def report():
    sys.path.insert(0, TOOLS)
    try:
        import flood_report
        yield flood_report
    finally:
        sys.path.remove(TOOLS)


def sample(t, counted_t, active, cores=0.0):
    return {"t": t, "counted_t": counted_t, "active": active, "accepted": active,
            "cpu": {"api": cores}}


def test_a_count_repeated_between_reads_is_a_rate_over_the_real_interval(report):
    # Counted at 0 s and 3 s; the samples at 1 and 2 s repeat the first count.
    samples = [sample(0, 0, 0), sample(1, 0, 0), sample(2, 0, 0), sample(3, 3, 300),
               sample(4, 3, 300)]
    assert report.rate_series(samples, "active", "counted_t") == ([0, 3], [0.0, 100.0])
    # A counter read every sample keeps every point.
    times, rates = report.rate_series(samples, "accepted", "t")
    assert times == [0, 1, 2, 3, 4] and rates == [0.0, 0.0, 0.0, 300.0, 0.0]
    # With a window, points at least that far apart: 0 in 2 s, then 300 in 2 s.
    assert report.rate_series(samples, "accepted", "t", window=2) == (
        [0, 2, 4], [0.0, 0.0, 150.0])


def test_reports_without_a_count_clock_take_rates_between_changes(report):
    # Older reports: the sample at 1 s repeats the count of 0 s, or counted
    # nothing new; either way 50 in 2 s is 25/s, not 0/s then 50/s.
    samples = [{"t": t, "active": n} for t, n in ((0, 0), (1, 0), (2, 50), (3, 50))]
    assert report.rate_series(samples, "active", "counted_t") == (
        [0, 2, 3], [0.0, 25.0, 0.0])


def test_a_late_cpu_spike_is_spread_over_the_window(report):
    # 1 s samples, one core steady, and 5 core-seconds landing in one sample.
    samples = [sample(t, t, 0, cores=6.0 if t == 5 else 1.0) for t in range(12)]
    means = report.mean_cores(samples, "api", 10.0)
    assert means[0] == 1.0 and means[4] == 1.0
    assert means[5] == pytest.approx((4 * 1 + 6) / 5)       # 4 s before it, then it
    assert means[11] == pytest.approx((9 * 1 + 6) / 10)     # the window's last 10 s
    assert max(means) < 6.0
