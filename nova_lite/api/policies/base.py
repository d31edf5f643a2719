"""The personas and the base rules every other rule is written with (as Nova's
nova/policies/base.py, project scope only: nova-lite serves no system scope).

Check strings name every role that grants a persona, so they hold whether or
not a token carries Keystone's implied roles (admin implies member implies
reader; nova-lite's tokens carry them today, a policy file written for a cloud
whose tokens do not still works):

    ADMIN                    role:admin, in any project
    PROJECT_MEMBER           member (or admin) of the project acted on
    PROJECT_READER           reader (or member, or admin) of it
    PROJECT_MEMBER_OR_ADMIN  either of the first two
    PROJECT_READER_OR_ADMIN  either of ADMIN and PROJECT_READER

The personas are ``rule:`` references to the base rules below, so an operator
redefines a persona once (``project_member_api: ...``) and every rule that
uses it follows. An unscoped token has no project and no roles: every
persona denies it.

Targets: ``project_id`` is the project a request acts on (the caller's own
for the API-wide check; ownership of one resource is the database queries'
business, as before), ``user_id`` the user it acts for.
"""
from oslo_policy import policy

RULE_ADMIN_API = "rule:admin_api"
ADMIN = "rule:context_is_admin"
PROJECT_MEMBER = "rule:project_member_api"
PROJECT_READER = "rule:project_reader_api"
PROJECT_MEMBER_OR_ADMIN = "rule:project_member_or_admin"
PROJECT_READER_OR_ADMIN = "rule:project_reader_or_admin"
ANY_ROLE = "role:reader or role:member or role:admin"

def rule(name, check_str, description, *operations, scope=("project",)):
    """A DocumentedRuleDefault guarding ``operations``: (method, path) pairs,
    paths relative to the API's version prefix (/compute/v2.1, /identity/v3,
    /image/v2, /network/v2.0)."""
    return policy.DocumentedRuleDefault(
        name=name, check_str=check_str, description=description,
        operations=[{"method": m, "path": p} for m, p in operations],
        scope_types=list(scope))


def refine(name, check_str, description, *operations, scope=("project",)):
    return refines(rule(name, check_str, description, *operations, scope=scope))


# Names of the rules a handler checks besides its endpoint's own (see refines).
REFINING = set()


def refines(rule):
    """Mark ``rule`` as refining an endpoint's rule (Neutron's
    ``create_network:shared``, Nova's ``servers:index:get_all_tenants``): its
    operations document where it applies, but the endpoint's own check is
    another rule, so the route map leaves it out."""
    REFINING.add(rule.name)
    return rule


rules = [
    policy.RuleDefault(
        "context_is_admin", "role:admin",
        "Decides who is an administrator: may see and act on every project's "
        "resources (RequestContext.is_admin, used by the database queries)."),
    policy.RuleDefault("admin_api", "role:admin", "Default rule for administrative APIs."),
    policy.RuleDefault(
        "project_member_api", "(role:member or role:admin) and project_id:%(project_id)s",
        "Default rule for project-level non-admin APIs that change things."),
    policy.RuleDefault(
        "project_reader_api",
        "(role:reader or role:member or role:admin) and project_id:%(project_id)s",
        "Default rule for project-level read-only APIs."),
    policy.RuleDefault(
        "project_member_or_admin", "rule:project_member_api or rule:context_is_admin",
        "Default rule for project member or admin APIs."),
    policy.RuleDefault(
        "project_reader_or_admin", "rule:project_reader_api or rule:context_is_admin",
        "Default rule for project reader or admin APIs."),
]


def list_rules():
    return rules
