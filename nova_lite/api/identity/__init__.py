"""Identity v3 for the Default domain: login (password, token,
application credential) that returns a token and a service catalog, token
validation and revocation, and the administration of users, projects, roles,
role assignments and application credentials.

- ``tokens``    Fernet tokens: sealed, self-describing, checked without the DB
                (but against the revocation events, nova_lite.db.revocations)
- ``catalog``   the service catalog (identity, compute, image)
- ``views``     the response shapes
- ``versions``, ``auth``, ``projects``, ``users``, ``roles``, ``assignments``,
  ``domains``, ``app_creds``: the HTTP controllers, one per resource

The rules (lockout, implied roles, what revokes which tokens) are in
``nova_lite.db.identity``; password hashes in ``nova_lite.db.passwords``.
"""
import flask


def blueprint():
    # Imported here: the auth middleware imports ``tokens`` from this package.
    from nova_lite.api.identity import (app_creds, assignments, auth, domains, projects,
                                        roles, users, versions)

    bp = flask.Blueprint("identity", __name__, url_prefix="/identity")
    for controller in (versions, auth, projects, users, roles, assignments, domains,
                       app_creds):
        controller.register(bp)
    return bp
