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
    app_cred_id: str | None = None

    @property
    def is_admin(self):
        return "admin" in self.roles

    def is_user(self, user_id):
        return self.user_id is not None and self.user_id == user_id

    def require_admin_or_owner(self, user_id, action="This action"):
        """Allowed to the user itself or an admin (Keystone's admin_or_owner)."""
        if not (self.is_admin or self.is_user(user_id)):
            raise exception.Forbidden(f"{action} requires the admin role or being "
                                      "the user.")

    def require_admin(self, action="This action"):
        if not self.is_admin:
            raise exception.Forbidden(f"{action} requires the admin role.")

    def to_rpc(self):
        """What travels in a message envelope (never the token)."""
        return {"request_id": self.request_id, "user_id": self.user_id,
                "project_id": self.project_id, "roles": list(self.roles)}


def current():
    return flask.g.context
