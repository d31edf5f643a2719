"""Who is asking: the RequestContext built by the auth middleware, on flask.g."""
import dataclasses

import flask

from nova_lite import exception


@dataclasses.dataclass
class RequestContext:
    request_id: str
    user_id: str | None = None
    user_name: str | None = None
    project_id: str | None = None
    project_name: str | None = None
    roles: tuple = ()
    token: str | None = None

    @property
    def is_admin(self):
        return "admin" in self.roles

    def require_admin(self, action="This action"):
        if not self.is_admin:
            raise exception.Forbidden(f"{action} requires the admin role.")

    def to_rpc(self):
        """What travels in a message envelope (never the token)."""
        return {"request_id": self.request_id, "user_id": self.user_id,
                "project_id": self.project_id, "roles": list(self.roles)}


def current():
    return flask.g.context
