"""The versioned JSON envelope every message carries.

    {"version": 1, "method": "build_instance", "args": {...},
     "context": {"user_id": ..., "project_id": ..., "request_id": ...},
     "request_id": "req-...", "message_id": "...", "sent_at": "2026-...Z"}
"""
import datetime
import json
import os

VERSION = 1
SUPPORTED_VERSIONS = frozenset({1})


class PoisonMessage(Exception):
    """A message no retry can fix: it goes to the dead-letter queue."""


def build(method, args=None, context=None):
    context = dict(context or {})
    return {
        "version": VERSION,
        "method": method,
        "args": args or {},
        "context": context,
        "request_id": context.get("request_id"),
        "message_id": os.urandom(16).hex(),
        "sent_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    }


def encode(envelope):
    return json.dumps(envelope, separators=(",", ":")).encode("utf-8")


def decode(body):
    """Parse and check a message body; raise PoisonMessage saying what is wrong."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PoisonMessage(f"body is not UTF-8: {exc}") from None
    try:
        envelope = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise PoisonMessage(f"body is not JSON: {exc}") from None
    if not isinstance(envelope, dict):
        raise PoisonMessage("envelope is not a JSON object")
    version = envelope.get("version")
    if version not in SUPPORTED_VERSIONS:
        raise PoisonMessage(f"unsupported envelope version {version!r}")
    if not isinstance(envelope.get("method"), str):
        raise PoisonMessage("envelope has no method")
    if not isinstance(envelope.get("args", {}), dict):
        raise PoisonMessage("envelope args is not an object")
    if not isinstance(envelope.get("context", {}), dict):
        raise PoisonMessage("envelope context is not an object")
    envelope.setdefault("args", {})
    envelope.setdefault("context", {})
    return envelope


def method_of(body):
    """The method a body names, or None if it is not a readable envelope
    (for deciding what to do with a message, never for dispatching it)."""
    try:
        return decode(body)["method"]
    except PoisonMessage:
        return None
