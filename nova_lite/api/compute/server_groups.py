"""os-server-groups: create, list, show, delete (Nova's API).

Policies: ``affinity`` and ``anti-affinity``; ``soft-affinity`` and
``soft-anti-affinity`` from 2.15; from 2.64 one ``policy`` and ``rules``
(``max_server_per_host`` for anti-affinity) instead of the ``policies``
list. The scheduler honours a group named by a server's ``group`` hint
(nova_lite.scheduler, db/server_groups.py); quotas ``server_groups`` (per
project) and ``server_group_members`` (per group) are enforced."""
import flask
from sqlalchemy import select

from nova_lite import exception
from nova_lite.api import context, policy, validation
from nova_lite.api.middleware import microversion
from nova_lite.db import models
from nova_lite.db import server_groups as groups_db
from nova_lite.db.session import reader, transaction

G = models.InstanceGroup
P = "os_compute_api:os-server-groups:"

_NAME = {"type": "string", "minLength": 1, "maxLength": 255,
         "pattern": r"^(?! )[^\x00-\x1f]*(?<! )$"}
CREATE_SCHEMA = {
    "type": "object", "required": ["server_group"], "additionalProperties": False,
    "properties": {"server_group": {
        "type": "object", "required": ["name"], "additionalProperties": False,
        "properties": {
            "name": _NAME,
            # up to 2.63
            "policies": {"type": "array", "minItems": 1, "maxItems": 1,
                         "items": {"type": "string"}},
            # 2.64
            "policy": {"type": "string"},
            "rules": {"type": "object", "additionalProperties": False, "properties": {
                "max_server_per_host": {"type": ["integer", "string"],
                                        "pattern": "^[0-9]+$", "minimum": 1}}},
        }}},
}


def _version():
    return microversion.requested()


def _allowed_policies():
    return groups_db.POLICIES if _version() >= (2, 15) else groups_db.HARD


def _policy_and_rules(spec):
    """(policy, rules) of a create request, as its microversion words them."""
    allowed = _allowed_policies()
    if _version() >= (2, 64):
        if "policies" in spec or "policy" not in spec:
            raise exception.Invalid("Invalid input for field/attribute server_group. "
                                    "'policy' is a required property")
        chosen, rules = spec["policy"], dict(spec.get("rules") or {})
        if rules and chosen != "anti-affinity":
            raise exception.Invalid("Only anti-affinity policy supports rules.")
        if "max_server_per_host" in rules:
            rules["max_server_per_host"] = int(rules["max_server_per_host"])
    else:
        if "policy" in spec or "rules" in spec or "policies" not in spec:
            raise exception.Invalid("Invalid input for field/attribute server_group. "
                                    "'policies' is a required property")
        chosen, rules = spec["policies"][0], {}
    if chosen not in allowed:
        raise exception.Invalid(
            f"Invalid input for field/attribute policy. Value: {validation.shown(chosen)}."
            f" '{validation.shown(chosen)}' is not one of {list(allowed)}")
    return chosen, rules


def view(group, members):
    body = {"id": group.uuid, "name": group.name, "members": members}
    if _version() >= (2, 64):
        body.update(policy=group.policy, rules=group.rules or {})
    else:
        body.update(policies=[group.policy], metadata={})
    if _version() >= (2, 13):
        body.update(project_id=group.project_id, user_id=group.user_id)
    return body


def _find(session, group_id, lock=False):
    """The group, if the caller may see it: its project's, or any for an
    admin; another project's is not found."""
    ctx = context.current()
    return groups_db.get(session, group_id, None if ctx.is_admin else ctx.project_id or "",
                         lock=lock)


@validation.body(CREATE_SCHEMA)
def create(body):
    spec = body["server_group"]
    chosen, rules = _policy_and_rules(spec)
    ctx = context.current()
    if not ctx.project_id:
        raise exception.Invalid("A server group belongs to a project: use a token "
                                "scoped to one.")
    with transaction() as session:
        group = groups_db.create(session, ctx.project_id, ctx.user_id, spec["name"],
                                 chosen, rules)
        result = view(group, [])
    return flask.jsonify({"server_group": result})


@policy.checked_in_handler(P + "index", P + "index:all_projects")
def index():
    ctx = context.current()
    everyone = str(flask.request.args.get("all_projects", "")).lower() in ("1", "true",
                                                                           "yes")
    policy.authorize(P + "index:all_projects" if everyone else P + "index")
    query = select(G)
    if not everyone:
        query = query.where(G.project_id == (ctx.project_id or ""))
    limit, offset = _paging()
    with reader() as session:
        found = session.scalars(query.order_by(G.id).offset(offset).limit(limit)).all()
        members = groups_db.members(session, [g.id for g in found])
        result = [view(g, members[g.id]) for g in found]
    return flask.jsonify({"server_groups": result})


def _paging():
    """Nova's ``limit`` and ``offset`` (non-negative integers)."""
    values = []
    for name, default in (("limit", None), ("offset", 0)):
        raw = flask.request.args.get(name)
        if raw is None:
            values.append(default)
            continue
        if not raw.isdigit():
            raise exception.Invalid(f"Invalid input for query parameters {name}. Value: "
                                    f"{validation.shown(raw)}. '{validation.shown(raw)}'"
                                    " is not a 'integer'")
        values.append(int(raw))
    return values[0], values[1]


def show(group_id):
    with reader() as session:
        group = _find(session, group_id)
        result = view(group, groups_db.members(session, [group.id])[group.id])
    return flask.jsonify({"server_group": result})


def delete(group_id):
    with transaction() as session:
        groups_db.delete(session, _find(session, group_id, lock=True))
    return "", 204


def register(bp):
    bp.add_url_rule("/v2.1/os-server-groups", "server_groups", index)
    bp.add_url_rule("/v2.1/os-server-groups", "create_server_group", create,
                    methods=["POST"])
    bp.add_url_rule("/v2.1/os-server-groups/<group_id>", "server_group", show)
    bp.add_url_rule("/v2.1/os-server-groups/<group_id>", "delete_server_group", delete,
                    methods=["DELETE"])
