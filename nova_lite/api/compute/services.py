"""os-services: the nova-lite services and their state (admin).

    GET    /os-services[?host=&binary=]
    PUT    /os-services/enable               {"host", "binary"}          (2.1-2.52)
    PUT    /os-services/disable              {"host", "binary"}          (2.1-2.52)
    PUT    /os-services/disable-log-reason   {"host", "binary", "disabled_reason"}
    PUT    /os-services/force-down           {"host", "binary", "forced_down"} (2.11-2.52)
    PUT    /os-services/{uuid}   {"status", "disabled_reason", "forced_down"} (2.53-)
    DELETE /os-services/{id}     integer id before 2.53, uuid from 2.53

Bodies as Nova's. A disabled (or forced down) compute service's host gets no
new servers: the scheduler's candidate query leaves it out
(nova_lite/scheduler/candidates.py). Rules: os_compute_api:os-services:list,
:update, :delete (admin). The rows: nova_lite/db/services.py."""
import flask

from nova_lite import exception
from nova_lite.api import validation
from nova_lite.api.middleware import microversion
from nova_lite.api.timeutil import iso_micro
from nova_lite.db import services as service_db
from nova_lite.db.session import reader, transaction

COMPUTE = "nova-lite-compute"
_TEXT = {"type": "string", "minLength": 1, "maxLength": 255}
_REASON = {"type": "string", "minLength": 1, "maxLength": 255}
_BOOL = {"type": "boolean"}
_HOST_BINARY = {"host": _TEXT, "binary": _TEXT}


def _schema(**extra):
    return {"type": "object", "required": ["host", "binary", *extra],
            "additionalProperties": False, "properties": dict(_HOST_BINARY, **extra)}


# action -> (body schema, the lowest microversion it is served at)
ACTIONS = {
    "enable": (_schema(), (2, 1)),
    "disable": (_schema(), (2, 1)),
    "disable-log-reason": (_schema(disabled_reason=_REASON), (2, 1)),
    "force-down": (_schema(forced_down=_BOOL), (2, 11)),
}
UPDATE_SCHEMA = {  # 2.53
    "type": "object", "additionalProperties": False, "minProperties": 1,
    "properties": {"status": {"enum": ["enabled", "disabled"]},
                   "disabled_reason": _REASON, "forced_down": _BOOL},
}


def _at_least(version):
    return microversion.requested() >= version


def view(service):
    body = {
        "id": service.uuid if _at_least((2, 53)) else service.id,
        "binary": service.binary,
        "host": service.host,
        "zone": "nova" if service.binary == COMPUTE else "internal",
        "status": "disabled" if service.disabled else "enabled",
        "state": "up" if service_db.is_up(service) else "down",
        "updated_at": iso_micro(service.updated_at or service.last_seen_up),
        "disabled_reason": service.disabled_reason,
    }
    if _at_least((2, 11)):
        body["forced_down"] = service.forced_down
    return body


def index():
    args = flask.request.args
    with reader() as session:
        found = service_db.find(session, args.get("host"), args.get("binary"))
        return flask.jsonify({"services": [view(s) for s in found]})


def update(action):
    if _at_least((2, 53)):
        return _update_by_id(action)
    if action not in ACTIONS or not _at_least(ACTIONS[action][1]):
        raise exception.NotFound(f"Unknown action: {action}")
    body = validation.json_body()
    validation.check(ACTIONS[action][0], body)
    with transaction() as session:
        service = service_db.get_by_host_binary(session, body["host"], body["binary"],
                                                for_update=True)
        if service is None:
            raise exception.NotFound(f"Service {body['binary']} on host {body['host']} "
                                     "could not be found.")
        result = {"host": service.host, "binary": service.binary}
        if action == "force-down":
            service_db.set_status(service, forced_down=body["forced_down"])
            result["forced_down"] = service.forced_down
        else:
            service_db.set_status(service, disabled=action != "enable",
                                  reason=body.get("disabled_reason"))
            result["status"] = "disabled" if service.disabled else "enabled"
            if action == "disable-log-reason":
                result["disabled_reason"] = service.disabled_reason
    return flask.jsonify({"service": result})


def _update_by_id(service_id):
    if not validation.is_uuid(service_id):
        raise exception.Invalid(f"Invalid uuid {service_id}")
    body = validation.json_body()
    validation.check(UPDATE_SCHEMA, body)
    if "disabled_reason" in body and body.get("status") != "disabled":
        raise exception.Invalid("Specifying 'disabled_reason' with status other than "
                                "'disabled' is invalid.")
    with transaction() as session:
        service = service_db.get(session, service_id, for_update=True)
        if service is None:
            raise exception.NotFound(f"Service {service_id} could not be found.")
        if body.get("forced_down") is not None and service.binary != COMPUTE:
            raise exception.Invalid("Updating 'forced_down' is only supported for the "
                                    "compute service.")
        disabled = None if "status" not in body else body["status"] == "disabled"
        service_db.set_status(service, disabled=disabled,
                              reason=body.get("disabled_reason"),
                              forced_down=body.get("forced_down"))
        result = view(service)
    return flask.jsonify({"service": result})


def delete(service_id):
    if _at_least((2, 53)):
        if not validation.is_uuid(service_id):
            raise exception.Invalid(f"Invalid uuid {service_id}")
    elif not service_id.isdigit():
        raise exception.Invalid(f"Service id {service_id!r} must be an integer.")
    with transaction() as session:
        service = service_db.get(session, service_id, for_update=True)
        if service is None:
            raise exception.NotFound(f"Service {service_id} could not be found.")
        try:
            service_db.delete(session, service)
        except service_db.InUse:
            raise exception.Conflict(
                f"Unable to delete compute service that is hosting instances "
                f"(host {service.host}); migrate or delete them first.") from None
    return "", 204


def register(bp):
    bp.add_url_rule("/v2.1/os-services", "services", index)
    bp.add_url_rule("/v2.1/os-services/<action>", "update_service", update,
                    methods=["PUT"])
    bp.add_url_rule("/v2.1/os-services/<service_id>", "delete_service", delete,
                    methods=["DELETE"])
