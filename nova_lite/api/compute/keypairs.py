"""os-keypairs: create (server-generated or imported), list, show, delete.

Keypairs belong to the user (not the project), as in Nova; each user may
hold ``key_pairs`` of them (its quota as seen from the project it creates
them in), counted by nova_lite.db.quotas in the same transaction.

Microversions (Nova's): 2.2 ``type`` (ssh or x509) in the create request and
every body, create answers 201 and delete 204; 2.10 an admin creates for
another user (``user_id`` in the body); 2.35 the list pages (``limit``,
``marker``, ``keypairs_links``); 2.92 the public key is required (no more
generated keys) and names are stricter."""
import base64
import copy
import functools
import hashlib

import flask
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from nova_lite import exception
from nova_lite.api import context, links, pagination, policy, validation
from nova_lite.api.middleware import microversion
from nova_lite.api.timeutil import iso_micro
from nova_lite.db import models, quotas
from nova_lite.db.session import reader, transaction

KEYPAIR_NAME = {"type": "string", "minLength": 1, "maxLength": 255,
                "pattern": r"^(?! )[a-zA-Z0-9. _@-]+(?<! )$"}
CREATE_SCHEMA = {
    "type": "object", "required": ["keypair"], "additionalProperties": False,
    "properties": {"keypair": {
        "type": "object", "required": ["name"], "additionalProperties": False,
        "properties": {"name": KEYPAIR_NAME,
                       "public_key": {"type": "string", "minLength": 1}},
    }},
}
# 2.92: letters, digits, '.', '_', '-', '@' and spaces inside (Nova's).
KEYPAIR_NAME_292 = {"type": "string", "minLength": 1, "maxLength": 255,
                    "pattern": r"^[a-zA-Z0-9@._\- ]*[a-zA-Z0-9@._-]$"}


@functools.lru_cache(maxsize=None)
def create_schema_for(version):
    schema = copy.deepcopy(CREATE_SCHEMA)
    keypair = schema["properties"]["keypair"]
    if version >= (2, 2):
        keypair["properties"]["type"] = {"enum": ["ssh", "x509"]}
    if version >= (2, 10):
        keypair["properties"]["user_id"] = {"type": "string", "minLength": 1,
                                            "maxLength": 255}
    if version >= (2, 92):
        keypair["required"] = ["name", "public_key"]
        keypair["properties"]["name"] = KEYPAIR_NAME_292
    return schema


def create_schema():
    return create_schema_for(microversion.requested())


def fingerprint(public_key):
    """Nova's fingerprint: MD5 of the key blob, colon-separated hex."""
    parts = public_key.split()
    if len(parts) < 2:
        raise exception.Invalid("Keypair data is invalid: public key is not in "
                                "OpenSSH format")
    try:
        serialization.load_ssh_public_key(" ".join(parts[:2]).encode())
        blob = base64.b64decode(parts[1], validate=True)
    except UnsupportedAlgorithm:
        raise exception.Invalid("Keypair data is invalid: unsupported key type "
                                f"{validation.shown(parts[0])}") from None
    except (ValueError, TypeError) as exc:
        raise exception.Invalid(f"Keypair data is invalid: {exc}") from None
    digest = hashlib.md5(blob).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def generate():
    """A new RSA key pair: (public key in OpenSSH format, private key in PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return public + " Generated-by-Nova-Lite\n", private


def summary(keypair, version=None):
    version = version or microversion.requested()
    body = {"name": keypair.name, "public_key": keypair.public_key,
            "fingerprint": keypair.fingerprint}
    if version >= (2, 2):
        body["type"] = keypair.type or "ssh"
    return body


def detail(keypair):
    body = summary(keypair)
    body.update({"user_id": keypair.user_id, "deleted": False,
                 "created_at": iso_micro(keypair.created_at),
                 "updated_at": iso_micro(keypair.updated_at), "deleted_at": None,
                 "id": keypair.id})
    return body


def _owner(action):
    """The user whose keypairs are acted on (``?user_id=``, the caller by
    default), once the action's rule allows it for that user (Nova's target:
    the user; another user's keypairs are admins' by default)."""
    ctx = context.current()
    user_id = flask.request.args.get("user_id") or ctx.user_id
    policy.authorize(f"os_compute_api:os-keypairs:{action}", {"user_id": user_id})
    return user_id


def find(session, user_id, name):
    keypair = session.scalars(select(models.KeyPair).where(
        models.KeyPair.user_id == user_id, models.KeyPair.name == name)).first()
    if keypair is None:
        raise exception.NotFound(f"Keypair {name} not found for user {user_id}")
    return keypair


@validation.body(create_schema)
def create(body):
    spec = body["keypair"]
    user_id = context.current().user_id
    if spec.get("user_id") and spec["user_id"] != user_id:
        # 2.10: an admin's (by default) keypair for another user.
        policy.authorize("os_compute_api:os-keypairs:create", {"user_id": spec["user_id"]})
        user_id = spec["user_id"]
    private_key = None
    public_key = spec.get("public_key")
    if public_key is None:
        public_key, private_key = generate()
    keypair = models.KeyPair(name=spec["name"], user_id=user_id,
                             public_key=public_key.strip() + "\n" if private_key is None
                             else public_key, fingerprint=fingerprint(public_key),
                             type=spec.get("type", "ssh"))
    try:
        with transaction() as session:
            session.add(keypair)
            session.flush()
            # Last: the usage row stays locked only until the commit.
            quotas.consume_key_pair(session, context.current().project_id, user_id)
    except IntegrityError:
        raise exception.Conflict(f"Key pair '{spec['name']}' already exists.") from None
    result = summary(keypair)
    result["user_id"] = user_id
    if private_key is not None:
        result["private_key"] = private_key
    return flask.jsonify({"keypair": result}), 201 if microversion.requested() >= (2, 2) \
        else 200


@policy.checked_in_handler("os_compute_api:os-keypairs:index")
def index():
    user_id = _owner("index")
    query = select(models.KeyPair).where(models.KeyPair.user_id == user_id)
    paged = microversion.requested() >= (2, 35)
    limit = pagination.limit() if paged else None
    with reader() as session:
        marker = pagination.marker() if paged else None
        if marker:
            if session.scalars(query.where(models.KeyPair.name == marker)).first() is None:
                raise exception.Invalid(f"marker [{marker}] not found")
            query = query.where(models.KeyPair.name > marker)
        query = query.order_by(models.KeyPair.name)
        if limit is not None:
            query = query.limit(limit)
        keypairs = session.scalars(query).all()
    items = [summary(k) for k in keypairs]
    body = {"keypairs": [{"keypair": item} for item in items]}
    nxt = pagination.next_link(links.base_url() + "/compute/v2.1/os-keypairs", items,
                               limit, key="name") if paged else None
    if nxt:
        body["keypairs_links"] = nxt
    return flask.jsonify(body)


@policy.checked_in_handler("os_compute_api:os-keypairs:show")
def show(name):
    with reader() as session:
        keypair = find(session, _owner("show"), name)
    return flask.jsonify({"keypair": detail(keypair)})


@policy.checked_in_handler("os_compute_api:os-keypairs:delete")
def delete(name):
    with transaction() as session:
        keypair = find(session, _owner("delete"), name)
        session.delete(keypair)
        session.flush()
        quotas.release_key_pair(session, keypair.user_id)
    return "", 204 if microversion.requested() >= (2, 2) else 202


def register(bp):
    bp.add_url_rule("/v2.1/os-keypairs", "keypairs", index)
    bp.add_url_rule("/v2.1/os-keypairs", "create_keypair", create, methods=["POST"])
    bp.add_url_rule("/v2.1/os-keypairs/<name>", "keypair", show)
    bp.add_url_rule("/v2.1/os-keypairs/<name>", "delete_keypair", delete,
                    methods=["DELETE"])
