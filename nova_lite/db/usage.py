"""Server usage over a period (os-simple-tenant-usage), from the instance
rows: a server counts from its launch (its creation if never launched) to
its termination (or the period's end), clipped to the period, times its
flavor's vcpus, memory and disk, as Nova's simple tenant usage does."""
import datetime

from sqlalchemy import and_, func, literal, or_, select

from nova_lite.db import models

I = models.Instance
_COLUMNS = (I.id, I.uuid, I.name, I.project_id, I.vm_state, I.flavor, I.flavor_id,
            I.vcpus, I.memory_mb, I.root_gb, I.ephemeral_gb, I.created_at,
            I.launched_at, I.terminated_at, I.deleted)


def _overlapping(start, stop):
    """SQL: the server ran (or was there) at some moment of [start, stop)."""
    return and_(I.created_at < stop,
                or_(I.terminated_at.is_(None), I.terminated_at > start))


def servers(session, start, stop, project_id=None, limit=None, after_id=None):
    """Rows of the servers that overlap the period, by id (keyset paging:
    after the server whose id is ``after_id``, at most ``limit``)."""
    query = select(*_COLUMNS).where(_overlapping(start, stop))
    if project_id is not None:
        query = query.where(I.project_id == project_id)
    if after_id is not None:
        query = query.where(I.id > after_id)
    query = query.order_by(I.id)
    if limit is not None:
        query = query.limit(limit)
    return session.execute(query).all()


def id_of(session, instance_uuid):
    return session.scalar(select(I.id).where(I.uuid == instance_uuid))


def _hours_sql(start, stop):
    began = func.greatest(func.coalesce(I.launched_at, I.created_at), literal(start))
    ended = func.least(func.coalesce(I.terminated_at, literal(stop)), literal(stop))
    return func.greatest(0, func.extract("epoch", ended - began)) / 3600.0


def totals(session, start, stop, project_id=None):
    """{project_id: (hours, vcpu hours, memory MB hours, disk GB hours)} over
    every server of the period, summed by the database."""
    hours = _hours_sql(start, stop)
    query = (select(I.project_id, func.sum(hours), func.sum(hours * I.vcpus),
                    func.sum(hours * I.memory_mb),
                    func.sum(hours * (I.root_gb + I.ephemeral_gb)))
             .where(_overlapping(start, stop)).group_by(I.project_id)
             .order_by(I.project_id))
    if project_id is not None:
        query = query.where(I.project_id == project_id)
    return {row[0]: tuple(float(v or 0) for v in row[1:]) for row in session.execute(query)}


def hours(row, start, stop, now=None):
    """The hours ``row`` (a servers() row) ran within [start, stop)."""
    began = max(row.launched_at or row.created_at, start)
    ended = min(row.terminated_at or stop, stop)
    return max(0.0, (ended - began).total_seconds() / 3600.0)


def uptime(row, now):
    """Seconds from launch to termination (or now), as Nova's ``uptime``."""
    began = row.launched_at or row.created_at
    ended = row.terminated_at or now
    return int(max(datetime.timedelta(0), ended - began).total_seconds())
