"""Policy enforcement with oslo.policy, as Nova does it.

One Enforcer per process, its defaults in code (nova_lite.api.policies), an
operator's overrides in ``[oslo_policy] policy_file`` (default
/etc/nova-lite/policy.yaml; a missing file means the defaults alone; a
changed file is read again on the next check, no restart).

- ``authorize(rule, target=None)``: 403 in the API's own words unless allowed;
- ``check(rule, target=None)``: the same question, answered True/False;
- ``route_rules(app)``: every route and method -> the one rule it checks
  (from the rules' ``operations``), built once at app start; the policy
  middleware (nova_lite.api.middleware.policy) enforces it on each request.

Credentials are the RequestContext's (user_id, project_id, roles); the
target defaults to ``{"project_id": ctx.project_id, "user_id": ctx.user_id}``,
the caller's own project: which rows of a project a request reaches stays the
database queries' business.
"""
import logging
import os
import re
import threading

import flask
from oslo_policy import policy as oslo_policy

from nova_lite import exception
from nova_lite.api import policies
from nova_lite.conf import CONF

LOG = logging.getLogger(__name__)

_ENFORCER = None                # (policy file signature, Enforcer)
_PATH = None                    # (the policy file's path or None,)
_LOCK = threading.Lock()

# Each API's blueprint prefix and version: the rules' paths are relative to it.
PREFIXES = ("/compute/v2.1", "/identity/v3", "/image/v2", "/network/v2.0")
PUBLIC = "@public"              # route map values that are no rule name
IN_HANDLER = "@handler"
HANDLER_ATTR = "_nova_lite_policy_rules"


class PolicyNotAuthorized(exception.Forbidden):
    """403 with the API's own words (set by :func:`_forbidden`)."""


class NeutronPolicyNotAuthorized(PolicyNotAuthorized):
    neutron_type = "PolicyNotAuthorized"


def get_enforcer():
    """The ``oslo.policy.enforcer`` entry point (oslopolicy-checker,
    oslopolicy-policy-generator): configuration from the command line."""
    from nova_lite import conf

    conf.parse_args([])
    return enforcer()


def _policy_path():
    """The policy file's path, whether or not it is there yet: as given if
    absolute, else where oslo.config finds it, else beside the last config
    file."""
    name = CONF.oslo_policy.policy_file
    if os.path.isabs(name):
        return name
    found = CONF.find_file(name)
    if found:
        return found
    if CONF.config_file:
        return os.path.join(os.path.dirname(os.path.abspath(CONF.config_file[-1])), name)
    return os.path.abspath(name)


def _signature(path):
    """What tells a changed (or new, or removed) policy file: one stat."""
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _build(path):
    made = oslo_policy.Enforcer(CONF, policy_file=path or CONF.oslo_policy.policy_file)
    made.register_defaults(policies.list_rules())
    made.load_rules()
    # Read once: oslo.policy would otherwise look the file (and policy.d)
    # up again on every check, ~0.2-0.7 ms each; this module stats it instead.
    made.use_conf = False
    return made


def enforcer():
    """The process's Enforcer: the defaults in code, overridden by the
    policy file as it is now. A file that appears, changes or goes away is
    seen on the next call (one os.stat per call), no restart needed."""
    global _ENFORCER, _PATH
    if _PATH is None:
        # Looked up once (reading an option costs more than the stat below).
        _PATH = (_policy_path(),)
    path = _PATH[0]
    signature = _signature(path)
    current = _ENFORCER
    if current is None or current[0] != signature:
        with _LOCK:
            current = _ENFORCER
            if current is None or current[0] != signature:
                try:
                    current = (signature, _build(path if signature else None))
                except Exception:
                    if current is None:
                        raise
                    # A file that cannot be read (half written, bad YAML):
                    # the rules in force stay until it changes again.
                    LOG.exception("policy file %s unreadable: the rules in force "
                                  "stay", path)
                    current = (signature, current[1])
                else:
                    if _ENFORCER is not None:
                        LOG.info("policy file %s %s: rules reloaded", path,
                                 "changed" if signature else "absent")
                _ENFORCER = current
    return current[1]


def reset():
    """Forget the enforcer and the policy file's path (tests that change
    [oslo_policy])."""
    global _ENFORCER, _PATH
    with _LOCK:
        _ENFORCER = _PATH = None


def credentials(ctx):
    return {"user_id": ctx.user_id, "project_id": ctx.project_id,
            "roles": list(ctx.roles)}


def _context():
    return flask.g.context


def _target(ctx, target):
    full = {"project_id": ctx.project_id, "user_id": ctx.user_id}
    if target:
        full.update(target)
    return full


# Decisions already made by the current rules: oslo.policy spends ~50-80 us
# on one (inspect.getfullargspec per check node); every check string here is
# roles and attributes of the credentials and target, so the same question
# gets the same answer until the rules change (a new enforcer, a new cache).
_DECISIONS_MAX = 10000


def check_for(ctx, rule, target=None):
    """Whether ``ctx`` may do ``rule`` on ``target``; an unknown rule is
    denied (oslo.policy fails closed)."""
    full = _target(ctx, target)
    made = enforcer()
    decisions = made.__dict__.setdefault("_nova_lite_decisions", {})
    key = (rule, ctx.roles, ctx.project_id, ctx.user_id, tuple(sorted(full.items())))
    try:
        return decisions[key]
    except (KeyError, TypeError):
        pass
    allowed = bool(made.enforce(rule, full, credentials(ctx)))
    if len(decisions) >= _DECISIONS_MAX:
        decisions.clear()
    try:
        decisions[key] = allowed
    except TypeError:           # an unhashable target value: not kept
        pass
    return allowed


def check(rule, target=None):
    return check_for(_context(), rule, target)


def authorize_for(ctx, rule, target=None):
    if not check_for(ctx, rule, target):
        raise _forbidden(rule)


def authorize(rule, target=None):
    authorize_for(_context(), rule, target)


def check_is_admin(ctx):
    return check_for(ctx, "context_is_admin")


def _forbidden(rule):
    """The 403 each upstream API answers with."""
    path = flask.request.path if flask.has_request_context() else ""
    if path.startswith("/network"):
        return NeutronPolicyNotAuthorized(f"({rule}) is disallowed by policy")
    if path.startswith("/identity"):
        return PolicyNotAuthorized("You are not authorized to perform the requested "
                                   f"action: {rule}.")
    if path.startswith("/image"):
        return PolicyNotAuthorized(f"You are not authorized to complete {rule} action.")
    return PolicyNotAuthorized(f"Policy doesn't allow {rule} to be performed.")


# -- the route map -----------------------------------------------------------------------
def checked_in_handler(*rules):
    """Mark a view whose rule depends on the request's body or query string:
    it calls :func:`authorize` itself with one of ``rules``."""
    def mark(view):
        setattr(view, HANDLER_ATTR, rules)
        return view
    return mark


_VAR = re.compile(r"<(?:[^:<>]+:)?[^<>]+>|\{[^{}]+\}")


def normalize(path):
    """A path with its prefix off and every variable as ``{}``:
    /compute/v2.1/servers/<server_id> and /servers/{server_id} meet."""
    for prefix in PREFIXES:
        if path == prefix or path.startswith(prefix + "/"):
            path = path[len(prefix):] or "/"
            break
    return _VAR.sub("{}", path.rstrip("/") or "/")


def operations():
    """(METHOD, normalized path) -> names of the endpoint rules listing it."""
    found = {}
    for rule in policies.list_rules():
        if rule.name in policies.base.REFINING:
            continue
        for op in getattr(rule, "operations", ()):
            found.setdefault((op["method"].upper(), normalize(op["path"])), []).append(
                rule.name)
    return found


def route_rules(app):
    """{(endpoint, METHOD): rule name | PUBLIC | IN_HANDLER | None} for every
    route of ``app``: None where no rule (or more than one) lists the route,
    which the middleware refuses (fail closed)."""
    from nova_lite.api.middleware import auth

    ops = operations()
    table = {}
    for url_rule in app.url_map.iter_rules():
        view = app.view_functions[url_rule.endpoint]
        path = normalize(url_rule.rule)
        methods = set(url_rule.methods) - {"OPTIONS"}
        for method in methods:
            if getattr(view, auth.PUBLIC_ATTR, False):
                entry = PUBLIC
            elif getattr(view, HANDLER_ATTR, None):
                entry = IN_HANDLER
            else:
                names = ops.get((method, path))
                if names is None and method == "HEAD" and "GET" in methods:
                    names = ops.get(("GET", path))
                entry = names[0] if names and len(names) == 1 else None
            table[(url_rule.endpoint, method)] = entry
    return table


def unguarded(app):
    """Routes (``METHOD /path``) with no rule: what fails closed."""
    table = route_rules(app)
    rules = {r.endpoint: r.rule for r in app.url_map.iter_rules()}
    return sorted(f"{method} {rules[endpoint]}"
                  for (endpoint, method), entry in table.items() if entry is None)
