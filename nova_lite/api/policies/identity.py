"""Identity v3 rules, named as Keystone names them (keystone/common/policies/*),
paths relative to /identity/v3. Keystone's targets are its own: the user or
token acted on is ``target.user.id`` / ``target.token.user_id``, so those
endpoints check their rule in the handler. A token need not be scoped for
these (an unscoped token may validate itself and read its user and its
projects); the project-level APIs deny unscoped tokens."""
from oslo_policy import policy

from nova_lite.api.policies import base

SCOPES = ("system", "domain", "project")
ADMIN_REQUIRED = "rule:admin_required"
OWNER = "user_id:%(target.user.id)s"
ADMIN_OR_OWNER = "rule:admin_required or " + OWNER
ADMIN_OR_TOKEN_SUBJECT = "rule:admin_required or rule:service_role or rule:token_subject"
# Application credentials are the caller's own: ``user_id`` of the target is
# the path's {user_id}.
ADMIN_OR_CREDENTIAL_OWNER = "rule:admin_required or user_id:%(target.user.id)s"


def _rule(name, check_str, description, *operations):
    return base.rule(name, check_str, description, *operations, scope=SCOPES)


def _crud(resource, plural, path, admin_reads=True):
    singular = resource.replace("_", " ")
    return [
        _rule(f"identity:get_{resource}", ADMIN_REQUIRED if admin_reads else "",
              f"Show a {singular}", ("GET", f"{path}/{{{resource}_id}}")),
        _rule(f"identity:list_{plural}", ADMIN_REQUIRED if admin_reads else "",
              f"List {singular}s", ("GET", path)),
        _rule(f"identity:create_{resource}", ADMIN_REQUIRED, f"Create a {singular}",
              ("POST", path)),
        _rule(f"identity:update_{resource}", ADMIN_REQUIRED, f"Update a {singular}",
              ("PATCH", f"{path}/{{{resource}_id}}")),
        _rule(f"identity:delete_{resource}", ADMIN_REQUIRED, f"Delete a {singular}",
              ("DELETE", f"{path}/{{{resource}_id}}")),
    ]


GRANT = "/projects/{project_id}/users/{user_id}/roles"
APP_CRED = "/users/{user_id}/application_credentials"

rules = [
    policy.RuleDefault("admin_required", "role:admin", "Keystone's administrator."),
    policy.RuleDefault("token_subject", "user_id:%(target.token.user_id)s",
                       "The caller is the user the token was issued to."),
    policy.RuleDefault("service_role", "role:service",
                       "A service user (checks other users' tokens)."),
    # tokens and the caller's own projects
    _rule("identity:validate_token", ADMIN_OR_TOKEN_SUBJECT, "Validate a token",
          ("GET", "/auth/tokens")),
    _rule("identity:check_token", ADMIN_OR_TOKEN_SUBJECT, "Check a token",
          ("HEAD", "/auth/tokens")),
    _rule("identity:revoke_token", ADMIN_OR_TOKEN_SUBJECT, "Revoke a token",
          ("DELETE", "/auth/tokens")),
    _rule("identity:get_auth_projects", "",
          "List the projects the caller has a role on", ("GET", "/auth/projects")),
    # projects: anyone may ask; the query answers with the projects the caller
    # has a role on (admins: all), and 404 for the others.
    _rule("identity:list_projects", "",
          "List projects (non-admins: those they have a role on)", ("GET", "/projects")),
    _rule("identity:get_project", "",
          "Show a project (non-admins: one they have a role on)",
          ("GET", "/projects/{project_id}")),
    _rule("identity:create_project", ADMIN_REQUIRED, "Create a project",
          ("POST", "/projects")),
    _rule("identity:update_project", ADMIN_REQUIRED, "Update a project",
          ("PATCH", "/projects/{project_id}")),
    _rule("identity:delete_project", ADMIN_REQUIRED, "Delete a project",
          ("DELETE", "/projects/{project_id}")),
    _rule("identity:list_user_projects", ADMIN_OR_OWNER, "List a user's projects",
          ("GET", "/users/{user_id}/projects")),
    # users
    _rule("identity:get_user", ADMIN_OR_OWNER, "Show a user (oneself, or any for admins)",
          ("GET", "/users/{user_id}")),
    _rule("identity:change_password", "",
          "Change a user's password (the user itself: its original password is what "
          "authorizes it; nova-lite's own rule name)", ("POST", "/users/{user_id}/password")),
    _rule("identity:list_users", ADMIN_REQUIRED, "List users", ("GET", "/users")),
    _rule("identity:create_user", ADMIN_REQUIRED, "Create a user", ("POST", "/users")),
    _rule("identity:update_user", ADMIN_REQUIRED, "Update a user",
          ("PATCH", "/users/{user_id}")),
    _rule("identity:delete_user", ADMIN_REQUIRED, "Delete a user",
          ("DELETE", "/users/{user_id}")),
    # roles and role assignments
    *_crud("role", "roles", "/roles"),
    _rule("identity:list_role_assignments", ADMIN_REQUIRED, "List role assignments",
          ("GET", "/role_assignments")),
    _rule("identity:list_grants", ADMIN_REQUIRED, "List a user's roles on a project",
          ("GET", GRANT)),
    _rule("identity:check_grant", ADMIN_REQUIRED, "Check a user's role on a project",
          ("HEAD", GRANT + "/{role_id}"), ("GET", GRANT + "/{role_id}")),
    _rule("identity:create_grant", ADMIN_REQUIRED, "Give a user a role on a project",
          ("PUT", GRANT + "/{role_id}")),
    _rule("identity:revoke_grant", ADMIN_REQUIRED, "Take a user's role on a project",
          ("DELETE", GRANT + "/{role_id}")),
    # domains (only Default exists): any token with a role reads it
    *[r if r.name not in ("identity:get_domain", "identity:list_domains") else
      _rule(r.name, base.ANY_ROLE, r.description, *[(o["method"], o["path"])
                                                    for o in r.operations])
      for r in _crud("domain", "domains", "/domains")],
    # application credentials: a user's own
    _rule("identity:create_application_credential", ADMIN_OR_CREDENTIAL_OWNER,
          "Create an application credential", ("POST", APP_CRED)),
    _rule("identity:list_application_credentials", ADMIN_OR_CREDENTIAL_OWNER,
          "List application credentials", ("GET", APP_CRED)),
    _rule("identity:get_application_credential", ADMIN_OR_CREDENTIAL_OWNER,
          "Show an application credential",
          ("GET", APP_CRED + "/{application_credential_id}")),
    _rule("identity:delete_application_credential", ADMIN_OR_CREDENTIAL_OWNER,
          "Delete an application credential",
          ("DELETE", APP_CRED + "/{application_credential_id}")),
]


def list_rules():
    return rules
