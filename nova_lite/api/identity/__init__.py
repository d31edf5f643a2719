"""Identity v3, the minimum real clients need: password login that returns a
token and a service catalog, token validation, project and user reads.

- ``tokens``    Fernet tokens: sealed, self-describing, checked without the DB
- ``catalog``   the service catalog (identity, compute, image)
- ``versions``, ``auth``, ``projects`` the HTTP controllers

Password hashes are ``nova_lite.db.passwords`` (bootstrap sets them too).
"""
import flask


def blueprint():
    # Imported here: the auth middleware imports ``tokens`` from this package.
    from nova_lite.api.identity import auth, projects, versions

    bp = flask.Blueprint("identity", __name__, url_prefix="/identity")
    versions.register(bp)
    auth.register(bp)
    projects.register(bp)
    return bp
