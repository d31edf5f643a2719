"""Timestamps the way the Compute API writes them."""


def iso(moment):
    """'2013-09-03T04:01:32Z' (created, updated)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def iso_micro(moment):
    """'2013-09-23T13:37:00.880302' (launched_at, created_at of keypairs)."""
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") if moment else None
