"""POST /servers/{id}/action: stop, start, reboot, pause, unpause, suspend,
resume, createImage (all 202, done by the instance's compute host),
os-getConsoleOutput (200, the one synchronous call), and the network ones
(add/removeSecurityGroup, add/removeFloatingIp: 202, refreshed on the host).

Each asynchronous action is one transaction: check the instance is in a
state the action allows (409 otherwise, as Nova says it), set its task_state,
record the action and put the message for its host in the outbox."""
import flask

from nova_lite import exception
from nova_lite.api import context, links, policy, relay, validation
from nova_lite.api.compute import (
    server_floating_ips,
    server_queries,
    server_security_groups,
)
from nova_lite.db import actions, models
from nova_lite.db import instances as instance_db
from nova_lite.db.session import reader, transaction
from nova_lite.objects import states
from nova_lite.rpc import call as rpc_call
from nova_lite.rpc import casts, outbox

# action -> (vm_states it is allowed in, task_state while it runs, compute method,
#            name recorded in os-instance-actions)
ACTIONS = {
    "os-stop": ((states.ACTIVE, states.ERROR), states.POWERING_OFF, "stop_instance", "stop"),
    "os-start": ((states.STOPPED,), states.POWERING_ON, "start_instance", "start"),
    "pause": ((states.ACTIVE,), states.PAUSING, "pause_instance", "pause"),
    "unpause": ((states.PAUSED,), states.UNPAUSING, "unpause_instance", "unpause"),
    "suspend": ((states.ACTIVE,), states.SUSPENDING, "suspend_instance", "suspend"),
    "resume": ((states.SUSPENDED,), states.RESUMING, "resume_instance", "resume"),
}
SOFT_REBOOT_STATES = (states.ACTIVE,)
HARD_REBOOT_STATES = (states.ACTIVE, states.STOPPED, states.PAUSED, states.SUSPENDED,
                      states.ERROR)
SNAPSHOT_STATES = (states.ACTIVE, states.STOPPED, states.PAUSED, states.SUSPENDED)

REBOOT_SCHEMA = {"type": "object", "required": ["type"], "additionalProperties": False,
                 "properties": {"type": {"type": "string",
                                         "pattern": "^([Ss][Oo][Ff][Tt]|[Hh][Aa][Rr][Dd])$"}}}
CREATE_IMAGE_SCHEMA = {"type": "object", "required": ["name"], "additionalProperties": False,
                       "properties": {"name": validation.NAME,
                                      "metadata": {"type": "object", "additionalProperties":
                                                   {"type": "string", "maxLength": 255}}}}
CONSOLE_SCHEMA = {"type": ["object", "null"], "additionalProperties": False,
                  "properties": {"length": {"type": ["integer", "string", "null"],
                                            "pattern": "^-?[0-9]+$"}}}
NULL_SCHEMA = {"type": ["null", "object"], "maxProperties": 0}


def _conflict(instance, action):
    return exception.Conflict(
        f"Cannot '{action}' instance {instance.uuid} while it is in vm_state "
        f"{instance.vm_state}" + (f" and task_state {instance.task_state}"
                                   if instance.task_state else ""))


def _begin(session, ctx, server_id, action, allowed, task_state):
    """Lock the instance, check the action may start, and mark it started."""
    instance = server_queries.get(session, ctx, server_id, for_update=True)
    if instance.locked and not ctx.is_admin:
        raise exception.Conflict(f"Instance {server_id} is locked")
    if instance.vm_state not in allowed or instance.task_state is not None \
            or instance.host is None:
        raise _conflict(instance, action)
    instance_db.transition(session, instance.uuid, {"task_state": None},
                           task_state=task_state)
    actions.start(session, instance.uuid, action, ctx.to_rpc())
    return instance


def _cast_action(server_id, key, value):
    allowed, task_state, method, action = ACTIONS[key]
    validation.check(NULL_SCHEMA, value)
    ctx = context.current()
    with transaction() as session:
        instance = _begin(session, ctx, server_id, action, allowed, task_state)
        outbox.enqueue(session, casts.instance_action(instance.host, method, instance.uuid,
                                                      task_state), ctx.to_rpc())
    relay.wake()
    return "", 202


def _reboot(server_id, value):
    validation.check(REBOOT_SCHEMA, value)
    hard = value["type"].upper() == "HARD"
    allowed = HARD_REBOOT_STATES if hard else SOFT_REBOOT_STATES
    task_state = states.REBOOTING_HARD if hard else states.REBOOTING
    ctx = context.current()
    with transaction() as session:
        instance = _begin(session, ctx, server_id, "reboot", allowed, task_state)
        outbox.enqueue(session, casts.reboot_instance(instance.host, instance.uuid, hard,
                                                      task_state), ctx.to_rpc())
    relay.wake()
    return "", 202


def _create_image(server_id, value):
    validation.check(CREATE_IMAGE_SCHEMA, value)
    ctx = context.current()
    with transaction() as session:
        instance = _begin(session, ctx, server_id, "createImage", SNAPSHOT_STATES,
                          states.IMAGE_SNAPSHOT)
        properties = dict(value.get("metadata") or {})
        properties.update({"image_type": "snapshot", "instance_uuid": instance.uuid,
                           "base_image_ref": instance.image_ref or "",
                           "owner_user_name": ctx.user_name or ""})
        image = models.Image(name=value["name"], owner=ctx.project_id, status="queued",
                             visibility="private", disk_format="qcow2",
                             container_format="bare", min_disk=instance.root_gb,
                             min_ram=0, properties=properties, tags=[])
        session.add(image)
        session.flush()
        outbox.enqueue(session, casts.snapshot_instance(instance.host, instance.uuid,
                                                        image.id), ctx.to_rpc())
    relay.wake()
    response = flask.make_response("", 202)
    response.headers["Location"] = f"{links.base_url()}/image/v2/images/{image.id}"
    return response


def _console_output(server_id, value):
    validation.check(CONSOLE_SCHEMA, value)
    length = (value or {}).get("length")
    length = None if length in (None, "") else int(length)
    if length is not None and length < -1:
        raise exception.Invalid("length must be -1 (all) or a positive number of lines")
    ctx = context.current()
    with reader() as session:
        instance = server_queries.get(session, ctx, server_id)
    if instance.host is None or instance.vm_state in (states.BUILDING, states.ERROR):
        raise _conflict(instance, "os-getConsoleOutput")
    message = casts.get_console_output(instance.host, instance.uuid)
    try:
        output = rpc_call.call(message.topic, message.method, message.args, ctx.to_rpc())
    except rpc_call.CallTimeout:
        raise exception.ServiceUnavailable(
            f"The compute host {instance.host} did not answer in time; try again.") from None
    except rpc_call.RemoteError as exc:
        if exc.exc_type == "InstanceNotFound":
            raise exception.NotFound(f"No console for instance {server_id}.") from None
        raise
    lines = output.splitlines(keepends=True)
    if length is not None and length >= 0:
        lines = lines[-length:] if length else []
    return flask.jsonify({"output": "".join(lines)})


# Each action's own rule, as Nova names it.
RULES = {
    "os-stop": "os_compute_api:servers:stop",
    "os-start": "os_compute_api:servers:start",
    "pause": "os_compute_api:os-pause-server:pause",
    "unpause": "os_compute_api:os-pause-server:unpause",
    "suspend": "os_compute_api:os-suspend-server:suspend",
    "resume": "os_compute_api:os-suspend-server:resume",
    "reboot": "os_compute_api:servers:reboot",
    "createImage": "os_compute_api:servers:create_image",
    "os-getConsoleOutput": "os_compute_api:os-console-output",
    "addSecurityGroup": "os_compute_api:os-security-groups:add",
    "removeSecurityGroup": "os_compute_api:os-security-groups:remove",
    "addFloatingIp": "os_compute_api:os-floating-ips:add",
    "removeFloatingIp": "os_compute_api:os-floating-ips:remove",
}

HANDLERS = {
    "reboot": _reboot,
    "createImage": _create_image,
    "os-getConsoleOutput": _console_output,
    "addSecurityGroup": server_security_groups.add,
    "removeSecurityGroup": server_security_groups.remove,
    "addFloatingIp": server_floating_ips.add,
    "removeFloatingIp": server_floating_ips.remove,
}


@policy.checked_in_handler(*RULES.values())
def action(server_id):
    body = validation.json_body()
    if not isinstance(body, dict) or len(body) != 1:
        raise exception.Invalid("The action body must be an object with exactly one "
                                "action, e.g. {\"os-stop\": null}.")
    (key, value), = body.items()
    if key not in RULES:
        raise exception.Invalid(f"There is no such action: {key}")
    policy.authorize(RULES[key])
    if key in ACTIONS:
        return _cast_action(server_id, key, value)
    return HANDLERS[key](server_id, value)


def register(bp):
    bp.add_url_rule("/v2.1/servers/<server_id>/action", "server_action", action,
                    methods=["POST"])
