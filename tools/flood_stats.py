"""Small statistics the flood's modules share: percentiles, peak rates, rounding."""


def percentile(values, pct):
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct / 100.0
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def ms(value):
    return None if value is None else round(value * 1000, 1)


def r3(value):
    return None if value is None else round(value, 3)


def latency_ms(latencies):
    """{p50, p95, p99, max} in ms of latencies in seconds."""
    return {"p50": ms(percentile(latencies, 50)), "p95": ms(percentile(latencies, 95)),
            "p99": ms(percentile(latencies, 99)),
            "max": ms(max(latencies) if latencies else None)}


def rate_peak(samples, key, window=5.0):
    """Highest rate of growth of ``key`` over any ``window`` seconds (or more,
    when samples are further apart) in samples [{"t": s, key: count}]."""
    best = 0.0
    j = 0
    for s in samples:
        while j + 1 < len(samples) and samples[j + 1]["t"] <= s["t"] - window:
            j += 1
        dt = s["t"] - samples[j]["t"]
        if dt >= window:
            best = max(best, (s[key] - samples[j][key]) / dt)
    return round(best, 1)


def events_peak(times, window=5.0, span=None):
    """Most events (given by the time each happened, s) in any ``window``
    seconds, per second. Over a ``span`` (default: first to last event)
    shorter than ``window``, the events per second over the span."""
    times = sorted(times)
    if not times:
        return 0.0
    span = times[-1] - times[0] if span is None else span
    if span < window:
        return round(len(times) / max(span, 1e-6), 1)
    best = 0
    j = 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return round(best / window, 1)
