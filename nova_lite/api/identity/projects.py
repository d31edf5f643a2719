"""Project and user reads (what `openstack project list` and name lookups use)."""
import flask
from sqlalchemy import select

from nova_lite import exception
from nova_lite.api import context, links, policy
from nova_lite.db import models
from nova_lite.db.session import reader


def project_view(project):
    return {"id": project.id, "name": project.name, "description": project.description,
            "domain_id": project.domain_id, "enabled": project.enabled,
            "is_domain": False, "parent_id": project.domain_id, "tags": [], "options": {},
            "links": {"self": f"{links.base_url()}/identity/v3/projects/{project.id}"}}


def user_view(user):
    return {"id": user.id, "name": user.name, "domain_id": user.domain_id,
            "enabled": user.enabled, "default_project_id": user.default_project_id,
            "password_expires_at": None, "options": {},
            "links": {"self": f"{links.base_url()}/identity/v3/users/{user.id}"}}


def _visible_projects(session, ctx):
    query = select(models.Project).order_by(models.Project.name)
    if not ctx.is_admin:
        query = query.join(models.RoleAssignment,
                           models.RoleAssignment.project_id == models.Project.id) \
            .where(models.RoleAssignment.user_id == ctx.user_id).distinct()
    name = flask.request.args.get("name")
    if name:
        query = query.where(models.Project.name == name)
    return session.scalars(query).all()


def list_projects():
    ctx = context.current()
    with reader() as session:
        projects = _visible_projects(session, ctx)
    return flask.jsonify({"projects": [project_view(p) for p in projects],
                          "links": {"self": flask.request.url, "next": None,
                                    "previous": None}})


def list_my_projects():
    ctx = context.current()
    with reader() as session:
        projects = session.scalars(
            select(models.Project).join(models.RoleAssignment,
                                        models.RoleAssignment.project_id == models.Project.id)
            .where(models.RoleAssignment.user_id == ctx.user_id).distinct()).all()
    return flask.jsonify({"projects": [project_view(p) for p in projects],
                          "links": {"self": flask.request.url, "next": None,
                                    "previous": None}})


def show_project(project_id):
    ctx = context.current()
    with reader() as session:
        project = session.get(models.Project, project_id)
        visible = project is not None and (ctx.is_admin or project in
                                           _visible_projects(session, ctx))
    if not visible:
        raise exception.NotFound(f"Could not find project: {project_id}.")
    return flask.jsonify({"project": project_view(project)})


def list_users():
    with reader() as session:
        query = select(models.User).order_by(models.User.name)
        if flask.request.args.get("name"):
            query = query.where(models.User.name == flask.request.args["name"])
        users = session.scalars(query).all()
    return flask.jsonify({"users": [user_view(u) for u in users],
                          "links": {"self": flask.request.url, "next": None,
                                    "previous": None}})


@policy.checked_in_handler("identity:get_user")
def show_user(user_id):
    # Keystone's target: the user shown (oneself, or any for admins).
    policy.authorize("identity:get_user", {"target.user.id": user_id})
    with reader() as session:
        user = session.get(models.User, user_id)
    if user is None:
        raise exception.NotFound(f"Could not find user: {user_id}.")
    return flask.jsonify({"user": user_view(user)})


def register(bp):
    bp.add_url_rule("/v3/projects", "list_projects", list_projects)
    bp.add_url_rule("/v3/auth/projects", "list_my_projects", list_my_projects)
    bp.add_url_rule("/v3/projects/<project_id>", "show_project", show_project)
    bp.add_url_rule("/v3/users", "list_users", list_users)
    bp.add_url_rule("/v3/users/<user_id>", "show_user", show_user)
