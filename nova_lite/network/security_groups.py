"""Security groups and their rules; every project has a 'default' group.

(The lead's first cut: ensure_default and resolve. The rest — group and rule
CRUD with validation — is being added.)"""
from sqlalchemy import or_, select, text

from nova_lite import exception
from nova_lite.db import models


def _default_rules(group_id, project_id):
    rules = []
    for ethertype in ("IPv4", "IPv6"):
        rules.append(models.SecurityGroupRule(
            security_group_id=group_id, project_id=project_id, direction="ingress",
            ethertype=ethertype, remote_group_id=group_id))
        rules.append(models.SecurityGroupRule(
            security_group_id=group_id, project_id=project_id, direction="egress",
            ethertype=ethertype))
    return rules


def ensure_default(session, project_id):
    """The project's 'default' group, made (with Neutron's default rules) if
    missing; safe when many requests make it at once."""
    group_id = models.new_uuid()
    created = session.execute(text("""
        INSERT INTO security_groups (id, project_id, name, description, stateful,
                                     created_at)
        VALUES (:id, :project_id, 'default', 'Default security group', true, now())
        ON CONFLICT (project_id) WHERE name = 'default' DO NOTHING RETURNING id"""),
        {"id": group_id, "project_id": project_id}).scalar()
    if created:
        session.add_all(_default_rules(group_id, project_id))
        session.flush()
    return session.scalars(select(models.SecurityGroup).where(
        models.SecurityGroup.project_id == project_id,
        models.SecurityGroup.name == "default")).one()


def resolve(session, project_id, names_or_ids):
    """Ids of the project's groups with these names or ids."""
    ids = []
    for wanted in names_or_ids:
        if wanted == "default":
            ids.append(ensure_default(session, project_id).id)
            continue
        found = session.scalars(select(models.SecurityGroup.id).where(
            models.SecurityGroup.project_id == project_id,
            or_(models.SecurityGroup.name == wanted,
                models.SecurityGroup.id == wanted))).all()
        if len(found) != 1:
            raise exception.Invalid(
                f"Unable to find security_group with name or id '{wanted}'" if not found
                else f"Multiple security groups named '{wanted}': use its id")
        ids.append(found[0])
    return ids
