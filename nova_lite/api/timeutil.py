"""Timestamps the way OpenStack APIs write them, always in UTC whatever the
database session's time zone."""
import datetime


def _utc(moment):
    return moment.astimezone(datetime.timezone.utc) if moment.tzinfo else moment


def iso(moment):
    """'2013-09-03T04:01:32Z' (server created/updated, image timestamps)."""
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def iso_micro(moment):
    """'2013-09-23T13:37:00.880302' (launched_at, keypair created_at)."""
    if not moment:
        return None
    return _utc(moment).replace(tzinfo=None).isoformat(timespec="microseconds")
