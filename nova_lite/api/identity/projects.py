"""Projects: POST/GET/PATCH/DELETE /v3/projects[/{id}], and the projects a
token's user may scope to (GET /v3/auth/projects)."""
import flask
from sqlalchemy import select

from nova_lite import exception
from nova_lite.api import context, validation
from nova_lite.api.identity.views import collection, project_view
from nova_lite.db import identity, models
from nova_lite.db.session import reader

_PROJECT = {"type": "object", "properties": {
    "name": validation.NAME, "description": {"type": ["string", "null"]},
    "enabled": {"type": "boolean"}, "domain_id": {"enum": ["default", None]},
    "parent_id": {"enum": ["default", None]}, "is_domain": {"enum": [False]},
    "tags": {"type": "array"}, "options": {"type": "object"}}}
CREATE = {"type": "object", "required": ["project"], "properties": {"project": {
    **_PROJECT, "required": ["name"]}}}
UPDATE = {"type": "object", "required": ["project"], "properties": {"project": _PROJECT}}


def _flag(name):
    value = flask.request.args.get(name)
    return None if value is None else value.lower() in ("1", "true", "yes")


def _visible_projects(session, ctx):
    query = select(models.Project).order_by(models.Project.name)
    if not ctx.is_admin:
        query = query.join(models.RoleAssignment,
                           models.RoleAssignment.project_id == models.Project.id) \
            .where(models.RoleAssignment.user_id == ctx.user_id).distinct()
    name = flask.request.args.get("name")
    if name:
        query = query.where(models.Project.name == name)
    if _flag("enabled") is not None:
        query = query.where(models.Project.enabled == _flag("enabled"))
    return session.scalars(query).all()


def list_projects():
    """identity:list_projects (admin; others see their own, as before)."""
    ctx = context.current()
    with reader() as session:
        projects = _visible_projects(session, ctx)
    return collection("projects", [project_view(p) for p in projects])


def list_my_projects():
    ctx = context.current()
    return collection("projects", [project_view(p)
                                   for p in identity.user_projects(ctx.user_id)])


def show_project(project_id):
    ctx = context.current()
    with reader() as session:
        project = session.get(models.Project, project_id)
        visible = project is not None and (ctx.is_admin or project in
                                           _visible_projects(session, ctx))
    if not visible:
        raise exception.NotFound(f"Could not find project: {project_id}.")
    return flask.jsonify({"project": project_view(project)})


@validation.body(CREATE)
def create_project(body):
    spec = body["project"]
    project = identity.create(models.Project(
        name=spec["name"], description=spec.get("description") or "",
        enabled=spec.get("enabled", True)), "project")
    response = flask.jsonify({"project": project_view(project)})
    response.status_code = 201
    return response


@validation.body(UPDATE)
def update_project(project_id, body):
    spec = dict(body["project"])
    if "description" in spec and spec["description"] is None:
        spec["description"] = ""
    project = identity.update_project(project_id, spec)
    return flask.jsonify({"project": project_view(project)})


def delete_project(project_id):
    identity.delete_project(project_id)
    return "", 204


def register(bp):
    bp.add_url_rule("/v3/projects", "list_projects", list_projects)
    bp.add_url_rule("/v3/projects", "create_project", create_project, methods=["POST"])
    bp.add_url_rule("/v3/auth/projects", "list_my_projects", list_my_projects)
    bp.add_url_rule("/v3/projects/<project_id>", "show_project", show_project)
    bp.add_url_rule("/v3/projects/<project_id>", "update_project", update_project,
                    methods=["PATCH"])
    bp.add_url_rule("/v3/projects/<project_id>", "delete_project", delete_project,
                    methods=["DELETE"])
