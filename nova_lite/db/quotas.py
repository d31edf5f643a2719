"""Quotas: limits and usage (tables of nova_lite.db.models.quota, triggers of
migrations 0011 and 0012).

Usage is counted by the database: deferred constraint triggers on instances,
ports, networks, subnets, floating IPs, security groups and their rules add
to (or take from) a project's ``quota_usages`` rows, in the transaction that
makes or removes the rows, at its commit, and
refuse an increase past the limit (SQLSTATE ``NLQ01``; ``over_quota`` reads
it). So no code path can forget to count, and two transactions racing for
the last unit queue on the usage rows: the second sees the first's count.
A user's servers have no rows of their own: when the user has a limit of
its own, the trigger counts the user's live servers under the project's
rows, and ``usage`` counts them the same way for the per-user views.
Key pairs have no project; their create and delete count themselves here
(``consume_key_pair``), with the same compare-and-set.

A limit is, first found: the user's (Compute's per-user resources), the
project's, the ``default`` class's, the ``[quota]`` option. Each connection
carries the options and the driver as session settings (``connect_options``)
so that the triggers can read them. -1 is unlimited; with ``[quota] driver =
noop`` every limit is -1 and nothing is checked (usage is still counted)."""
import json

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert

from nova_lite import exception
from nova_lite.conf import CONF
from nova_lite.conf import quota as quota_conf
from nova_lite.db import models

Q = models.Quota
C = models.QuotaClass
U = models.QuotaUsage

COMPUTE = tuple(name for name, _, _ in quota_conf.COMPUTE_DEFAULTS)
NETWORK = tuple(name for name, _, _ in quota_conf.NETWORK_DEFAULTS)
# Compute's resources a user of a project may have a limit of its own for.
PER_USER = ("instances", "cores", "ram", "key_pairs", "metadata_items", "server_groups",
            "server_group_members", "injected_files", "injected_file_content_bytes",
            "injected_file_path_bytes", "floating_ips", "fixed_ips", "security_groups",
            "security_group_rules")
# Counted by the database (or by consume_key_pair): what detail's in_use shows.
COUNTED = ("instances", "cores", "ram", "key_pairs") + NETWORK
DEFAULT_CLASS = "default"

OVER_QUOTA = "NLQ01"


class QuotaInvalid(exception.Invalid):
    neutron_type = "InvalidQuotaValue"


def connect_options():
    """libpq ``options`` giving a connection the driver and the defaults as
    session settings (``nova_lite.quota_driver``, ``nova_lite.quota_<name>``),
    which the triggers of 0011 read."""
    values = {"driver": CONF.quota.driver}
    values.update({name: getattr(CONF.quota, name) for name in COMPUTE + NETWORK})
    return " ".join(f"-c nova_lite.quota_{name}={value}" for name, value in values.items())


def enforced():
    return CONF.quota.driver == "db"


def defaults():
    """The default class's limits over the options (Nova's defaults view)."""
    return {name: getattr(CONF.quota, name) for name in COMPUTE + NETWORK}


def class_limits(session, class_name=DEFAULT_CLASS):
    limits = defaults()
    if class_name == DEFAULT_CLASS:
        limits.update(session.execute(select(C.resource, C.hard_limit)
                                      .where(C.class_name == class_name)).all())
    return limits


def limits(session, project_id, user_id=None):
    """{resource: limit} for the project, or for a user of it (``user_id``)."""
    if not enforced():
        return dict.fromkeys(COMPUTE + NETWORK, -1)
    result = class_limits(session)
    owners = [""] if user_id is None else ["", user_id]
    rows = session.execute(select(Q.user_id, Q.resource, Q.hard_limit).where(
        Q.project_id == project_id, Q.user_id.in_(owners))
        .order_by(Q.user_id)).all()       # the project's (''), then the user's
    for owner, resource, hard_limit in rows:
        if resource in result and (owner == "" or resource in PER_USER):
            result[resource] = hard_limit
    return result


_USER_SERVERS = text("""
    SELECT count(*), coalesce(sum(vcpus), 0), coalesce(sum(memory_mb), 0) FROM instances
    WHERE user_id = :user_id AND project_id = :project_id AND NOT deleted""")


def usage(session, project_id, user_id=None):
    """{resource: in use} of the project (or of a user of it: its servers
    counted, as the trigger of 0012 counts them), 0 if never used. Key pairs
    are the user's (the caller's for a project's view)."""
    result = dict.fromkeys(COUNTED, 0)
    if user_id is None:
        rows = session.execute(select(U.resource, U.in_use).where(
            U.project_id == project_id, U.user_id == "")).all()
        result.update({r: n for r, n in rows if r != "key_pairs"})
    else:
        n, cores, ram = session.execute(_USER_SERVERS, {"user_id": user_id,
                                                        "project_id": project_id}).one()
        result.update(instances=n, cores=cores, ram=ram)
        result["key_pairs"] = key_pairs_in_use(session, user_id)
    return result


def key_pairs_in_use(session, user_id):
    return session.scalar(select(U.in_use).where(
        U.project_id == "", U.user_id == user_id, U.resource == "key_pairs")) or 0


def set_limits(session, project_id, values, user_id=None, force=False):
    """Set limits of the project (or of a user of it). Unless ``force``, a
    limit below what is in use is refused (Nova's check), and a user's limit
    may not exceed the project's."""
    owner = user_id or ""
    current = usage(session, project_id, user_id)
    project_limits = limits(session, project_id) if user_id else None
    for resource, value in values.items():
        if value < -1:
            raise QuotaInvalid(f"Quota limit {value} for {resource} must be -1 or "
                               "greater.")
        if user_id is not None and resource not in PER_USER:
            raise QuotaInvalid(f"Quota {resource} cannot be set per user.")
        if not force and value >= 0:
            used = current.get(resource, 0)
            if value < used:
                raise QuotaInvalid(
                    f"Quota limit {value} for {resource} must be greater than or "
                    f"equal to already used and reserved {used}.")
            if project_limits is not None and project_limits[resource] >= 0 \
                    and value > project_limits[resource]:
                raise QuotaInvalid(
                    f"Quota limit {value} for {resource} must be less than or equal "
                    f"to {project_limits[resource]}.")
    now = models.utcnow()
    for resource, value in values.items():
        statement = insert(Q).values(project_id=project_id, user_id=owner,
                                     resource=resource, hard_limit=value, updated_at=now)
        session.execute(statement.on_conflict_do_update(
            index_elements=[Q.project_id, Q.user_id, Q.resource],
            set_={"hard_limit": value, "updated_at": now}))


def delete_limits(session, project_id, user_id=None, resources=None):
    """Back to the defaults: the project's limits and its users' (or just
    the user's); only ``resources`` if given."""
    statement = delete(Q).where(Q.project_id == project_id)
    if user_id is not None:
        statement = statement.where(Q.user_id == user_id)
    if resources is not None:
        statement = statement.where(Q.resource.in_(list(resources)))
    session.execute(statement)


def set_class_limits(session, values, class_name=DEFAULT_CLASS):
    now = models.utcnow()
    for resource, value in values.items():
        if value < -1:
            raise QuotaInvalid(f"Quota limit {value} for {resource} must be -1 or "
                               "greater.")
        session.execute(insert(C).values(class_name=class_name, resource=resource,
                                         hard_limit=value, updated_at=now)
                        .on_conflict_do_update(index_elements=[C.class_name, C.resource],
                                               set_={"hard_limit": value, "updated_at": now}))


def projects_with_limits(session, resources=NETWORK):
    """Projects that have a limit of their own for any of ``resources``."""
    return session.scalars(select(Q.project_id).distinct().where(
        Q.user_id == "", Q.resource.in_(list(resources))).order_by(Q.project_id)).all()


_CONSUME = text("""
    UPDATE quota_usages SET in_use = in_use + :n
    WHERE project_id = '' AND user_id = :user_id AND resource = 'key_pairs'
      AND (:limit < 0 OR in_use + :n <= :limit)
    RETURNING in_use""")
_ENSURE = text("""
    INSERT INTO quota_usages (project_id, user_id, resource, in_use)
    VALUES ('', :user_id, 'key_pairs', 0) ON CONFLICT DO NOTHING""")


def consume_key_pair(session, project_id, user_id):
    """Count one more key pair of the user, if its limit (as seen from
    ``project_id``) allows: one compare-and-set. Raises OverQuota if not."""
    limit = limits(session, project_id, user_id)["key_pairs"] if enforced() else -1
    session.execute(_ENSURE, {"user_id": user_id})
    if session.execute(_CONSUME, {"user_id": user_id, "n": 1, "limit": limit}).first():
        return
    raise OverQuota("key_pairs", requested=1, in_use=key_pairs_in_use(session, user_id),
                    limit=limit)


def release_key_pair(session, user_id, n=1):
    session.execute(_CONSUME, {"user_id": user_id, "n": -n, "limit": -1})


class OverQuota(exception.Forbidden):
    """A request for more than a limit allows. Each API words it its own way
    (``compute_message``; Networking: 409 OverQuota)."""
    neutron_type = "OverQuota"

    def __init__(self, resource, requested=1, in_use=0, limit=0, user_id=None):
        self.resource, self.requested = resource, requested
        self.in_use, self.limit, self.user_id = in_use, limit, user_id or None
        super().__init__(compute_message(resource, requested, in_use, limit))


def compute_message(resource, requested, in_use, limit):
    """Nova's words for an over-quota request (403)."""
    if resource == "key_pairs":
        return "Quota exceeded, too many key pairs."
    if resource == "port":
        return "Maximum number of ports exceeded"
    if resource == "floatingip":
        return "Maximum number of floating IPs exceeded"
    if resource in NETWORK:
        return f"Quota exceeded, too many {resource.replace('_', ' ')}s."
    return (f"Quota exceeded for {resource}: Requested {requested}, but already used "
            f"{in_use} of {limit} {resource}")


def over_quota(exc):
    """The OverQuota a trigger's NLQ01 error (a SQLAlchemy DBAPIError) stands
    for, or None if it is another error."""
    orig = getattr(exc, "orig", None)
    if getattr(orig, "pgcode", None) != OVER_QUOTA:
        return None
    try:
        facts = json.loads(orig.diag.message_detail)
    except (TypeError, ValueError):
        return OverQuota("unknown")
    return OverQuota(facts["resource"], facts["requested"], facts["in_use"],
                     facts["limit"], facts.get("user_id"))


def headroom(session, project_id, user_id, per_server):
    """How many more servers of ``per_server`` ({resource: amount}) fit the
    project's and the user's limits (a plain read: the triggers decide), and
    the first resource that stops them: (count or None if unlimited, resource)."""
    fits, stopper = None, None
    for owner in (None, user_id):
        limit = limits(session, project_id, owner)
        used = usage(session, project_id, owner)
        for resource, amount in per_server.items():
            if limit[resource] < 0 or amount <= 0:
                continue
            n = max(0, (limit[resource] - used[resource]) // amount)
            if fits is None or n < fits:
                fits, stopper = n, resource
    return fits, stopper


def sync(session, project_id=None):
    """Recount usage from the rows (all projects, or one; key pairs only in
    a full recount) and correct the counters: [(project, user, resource,
    was, now)] of the rows that were wrong. The counters are locked first, so
    a change that commits meanwhile adds to the corrected count."""
    scope = text("(CAST(:project AS varchar) IS NULL OR project_id = :project)")
    params = {"project": project_id}
    session.execute(text("SELECT 1 FROM quota_usages WHERE " + scope.text
                         + " ORDER BY project_id, user_id, resource FOR UPDATE"), params)
    wrong = session.execute(text("""
        SELECT coalesce(c.project_id, u.project_id), coalesce(c.user_id, u.user_id),
               coalesce(c.resource, u.resource), coalesce(u.in_use, 0),
               coalesce(c.in_use, 0)
        FROM nl_quota_counted(:project) c
        FULL JOIN (SELECT * FROM quota_usages WHERE """ + scope.text + """
                   AND (CAST(:project AS varchar) IS NULL OR resource <> 'key_pairs')) u
          ON (u.project_id, u.user_id, u.resource) = (c.project_id, c.user_id, c.resource)
        WHERE coalesce(u.in_use, 0) <> coalesce(c.in_use, 0)
        ORDER BY 1, 2, 3"""), params).all()
    for project, user, resource, _, now in wrong:
        session.execute(insert(U).values(project_id=project, user_id=user,
                                         resource=resource, in_use=now)
                        .on_conflict_do_update(
                            index_elements=[U.project_id, U.user_id, U.resource],
                            set_={"in_use": now}))
    return [tuple(row) for row in wrong]
