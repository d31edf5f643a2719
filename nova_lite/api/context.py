"""Who is asking: the RequestContext built by the auth middleware, on flask.g."""
import dataclasses

import flask

from nova_lite.api import policy


@dataclasses.dataclass
class RequestContext:
    request_id: str
    user_id: str | None = None
    user_name: str | None = None
    project_id: str | None = None
    project_name: str | None = None
    roles: tuple = ()
    token: str | None = None
    app_cred_id: str | None = None
    _admin: tuple = dataclasses.field(default=(), repr=False, compare=False)
    _can: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @property
    def is_admin(self):
        """The ``context_is_admin`` policy rule (as Nova's context): what
        lets the database queries and nova_lite.network reach every
        project's rows. Worked out once per roles and project."""
        key = (self.roles, self.project_id)
        if not self._admin or self._admin[0] != key:
            self._admin = (key, policy.check_is_admin(self))
        return self._admin[1]

    def can(self, rule, target=None):
        """Whether policy allows ``rule`` on ``target`` (default: this
        context's project and user; that answer is kept for the request,
        so a view may ask once per item)."""
        if target is not None:
            return policy.check_for(self, rule, target)
        key = (rule, self.roles, self.project_id)
        known = self._can.get(key)
        if known is None:
            known = self._can[key] = policy.check_for(self, rule)
        return known

    def authorize(self, rule, target=None):
        """403, in the words of the API being served, unless policy allows
        ``rule`` on ``target``. nova_lite.network calls this (it cannot
        import the API) for the rules that depend on what it finds."""
        policy.authorize_for(self, rule, target)

    def is_user(self, user_id):
        return self.user_id is not None and self.user_id == user_id

    def to_rpc(self):
        """What travels in a message envelope (never the token)."""
        return {"request_id": self.request_id, "user_id": self.user_id,
                "project_id": self.project_id, "roles": list(self.roles)}


def current():
    return flask.g.context
