"""POST /servers/{id}/action: stop, start, reboot, pause, unpause, suspend,
resume, createImage, rebuild, resize, confirmResize, revertResize (202, but
confirmResize 204; done by the instance's compute host), os-resetState
(admin, 202, in the database alone), os-getConsoleOutput (200, the one
synchronous call), and the network ones (add/removeSecurityGroup,
add/removeFloatingIp: 202, refreshed on the host).

Each task is described once, in nova_lite.objects.tasks: the vm_states it may
start from (409 otherwise, as Nova says it), its first task_state and the
message of its first step. A handler here validates the body and, in one
transaction, locks the instance, checks the task may start, sets its
task_state, records the action and puts the step's message in the outbox."""
import flask

from nova_lite import exception
from nova_lite.api import context, links, policy, relay, validation
from nova_lite.api.compute import (
    server_create,
    server_floating_ips,
    server_queries,
    server_security_groups,
    servers,
)
from nova_lite.conf import CONF
from nova_lite.db import allocations, models
from nova_lite.db import tasks as task_db
from nova_lite.db.session import reader, transaction
from nova_lite.network import info as network_info
from nova_lite.objects import states, tasks
from nova_lite.rpc import call as rpc_call
from nova_lite.rpc import casts, outbox

# Actions whose body is null: API key -> task (nova_lite.objects.tasks.TASKS).
SIMPLE = {"os-stop": "stop", "os-start": "start", "pause": "pause", "unpause": "unpause",
          "suspend": "suspend", "resume": "resume", "confirmResize": "confirmResize",
          "revertResize": "revertResize"}

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
METADATA = {"type": "object", "maxProperties": 128,
            "additionalProperties": {"type": "string", "maxLength": 255},
            "propertyNames": {"minLength": 1, "maxLength": 255}}
REBUILD_SCHEMA = {"type": "object", "required": ["imageRef"], "additionalProperties": False,
                  "properties": {"imageRef": {"type": "string", "minLength": 1,
                                              "maxLength": 255},
                                 "name": validation.NAME, "metadata": METADATA,
                                 "adminPass": {"type": "string", "maxLength": 255},
                                 "OS-DCF:diskConfig": {"enum": ["AUTO", "MANUAL"]},
                                 "preserve_ephemeral": {"type": "boolean"}}}
RESIZE_SCHEMA = {"type": "object", "required": ["flavorRef"], "additionalProperties": False,
                 "properties": {"flavorRef": {"type": ["string", "integer"], "minLength": 1,
                                              "maxLength": 255},
                                "OS-DCF:diskConfig": {"enum": ["AUTO", "MANUAL"]}}}


def _begin(session, ctx, server_id, task):
    """Lock the instance, check ``task`` may start, and mark it started."""
    instance = server_queries.get(session, ctx, server_id, for_update=True)
    reason = task_db.check_start(instance, task, ctx.is_admin)
    if reason is not None:
        raise exception.Conflict(reason)
    task_db.begin(session, instance, task, ctx.to_rpc())
    return instance


def _send_first_step(session, ctx, instance, task):
    """Put the task's first message in the outbox, with its payload (the
    row re-read for a step that carries the whole instance)."""
    payload = None
    if task.first.payload == tasks.INSTANCE:
        session.flush()
        session.expire(instance)
        nets = network_info.for_instances(session, [instance.uuid])
        payload = task_db.step_payload(session, instance, nets[instance.uuid])
    outbox.enqueue(session, casts.task_step(instance.host, task.first, instance.uuid,
                                            payload), ctx.to_rpc())


def _start(server_id, task, prepare=None):
    """Start ``task``; ``prepare(session, ctx, instance)`` runs after the
    state check, before the message (a rebuild's new image, a resize's claim)."""
    ctx = context.current()
    with transaction() as session:
        if task.done or task.undo:
            # A task that moves claims locks the node before the instance row,
            # in the order claims and the conductor's undo take them.
            allocations.lock_nodes_of(session, server_id)
        instance = _begin(session, ctx, server_id, task)
        if prepare is not None:
            prepare(session, ctx, instance)
        _send_first_step(session, ctx, instance, task)
    relay.wake()
    return "", 202


def _simple(server_id, key, value):
    validation.check(NULL_SCHEMA, value)
    _, status = _start(server_id, tasks.TASKS[SIMPLE[key]])
    return "", 204 if key == "confirmResize" else status     # as Nova answers


def _reboot(server_id, value):
    validation.check(REBOOT_SCHEMA, value)
    hard = value["type"].upper() == "HARD"
    return _start(server_id, tasks.TASKS["reboot_hard" if hard else "reboot"])


def _rebuild(server_id, value):
    validation.check(REBUILD_SCHEMA, value)

    def prepare(session, ctx, instance):
        image = server_create.find_image(session, ctx, value["imageRef"])
        changes = {"image_ref": image.id}
        if "name" in value:
            changes["name"] = value["name"]
        if "metadata" in value:
            changes["metadata_"] = value["metadata"]
        for column, new in changes.items():
            setattr(instance, column, new)

    _start(server_id, tasks.TASKS["rebuild"], prepare)
    return _server_body_after(server_id,
                              value.get("adminPass") or server_create.admin_password())


def _server_body_after(server_id, admin_pass):
    """Nova answers a rebuild with the server as it is now and its adminPass
    (the one given, else a new one, as a create answers; like a create's, it
    does not reach the guest yet)."""
    body = servers.show(server_id).get_json()
    body["server"]["adminPass"] = admin_pass
    return flask.jsonify(body), 202


def _resize(server_id, value):
    validation.check(RESIZE_SCHEMA, value)

    def prepare(session, ctx, instance):
        flavor = server_create.find_flavor(session, ctx, value["flavorRef"])
        new = server_create.flavor_snapshot(flavor)
        if new["flavorid"] == instance.flavor_id:
            raise exception.Conflict("When resizing, instances must change flavor!")
        if new["root_gb"] < instance.root_gb:
            raise exception.Conflict(
                "Server disk was unable to be resized because: Unable to resize disk "
                f"down (flavor {new['flavorid']} has {new['root_gb']} GB, the server "
                f"{instance.root_gb} GB).")
        if not CONF.compute.allow_resize_to_same_host:
            raise exception.Conflict(
                "No valid host was found. Resize to another host is not supported yet "
                "and [compute] allow_resize_to_same_host is False.")
        if task_db.begin_resize(session, instance, new, ctx.to_rpc()) is None:
            raise exception.Conflict(
                f"No valid host was found. Host {instance.host} has no room for flavor "
                f"{new['flavorid']} beside the current one.")

    return _start(server_id, tasks.TASKS["resize"], prepare)


def _create_image(server_id, value):
    validation.check(CREATE_IMAGE_SCHEMA, value)
    ctx = context.current()
    with transaction() as session:
        instance = _begin(session, ctx, server_id, tasks.TASKS["createImage"])
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


RESET_STATE_SCHEMA = {"type": "object", "required": ["state"], "additionalProperties": False,
                      "properties": {"state": {"enum": ["active", "error"]}}}


def _reset_state(server_id, value):
    """``os-resetState`` (admin): the server's vm_state set, its task ended.
    A task under way is aborted as if it had failed (its database undo: a
    resize gets its old flavor and claim back); a server in VERIFY_RESIZE
    keeps the flavor its guest has (the resize is confirmed in the database)."""
    validation.check(RESET_STATE_SCHEMA, value)
    ctx = context.current()
    with transaction() as session:
        allocations.lock_nodes_of(session, server_id)
        instance = server_queries.get(session, ctx, server_id, for_update=True)
        task_db.reset_state(session, instance, value["state"])
    return "", 202


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
        raise exception.Conflict(tasks.conflict_message(
            instance.uuid, "os-getConsoleOutput", instance.vm_state, instance.task_state))
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
    "os-resetState": "os_compute_api:os-admin-actions:reset_state",
    "rebuild": "os_compute_api:servers:rebuild",
    "resize": "os_compute_api:servers:resize",
    "confirmResize": "os_compute_api:servers:confirm_resize",
    "revertResize": "os_compute_api:servers:revert_resize",
    "createImage": "os_compute_api:servers:create_image",
    "os-getConsoleOutput": "os_compute_api:os-console-output",
    "addSecurityGroup": "os_compute_api:os-security-groups:add",
    "removeSecurityGroup": "os_compute_api:os-security-groups:remove",
    "addFloatingIp": "os_compute_api:os-floating-ips:add",
    "removeFloatingIp": "os_compute_api:os-floating-ips:remove",
}

HANDLERS = {
    "reboot": _reboot,
    "os-resetState": _reset_state,
    "rebuild": _rebuild,
    "resize": _resize,
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
    if key in SIMPLE:
        return _simple(server_id, key, value)
    return HANDLERS[key](server_id, value)


def register(bp):
    bp.add_url_rule("/v2.1/servers/<server_id>/action", "server_action", action,
                    methods=["POST"])
