"""What a compute host is told about an instance. Compute hosts never read the
database, so build_and_run_instance carries everything the driver needs,
including its network_info (see nova_lite.network.info)."""
from sqlalchemy.orm import object_session

from nova_lite.db.session import reader
from nova_lite.network import info as network_info


def _network_info(instance):
    session = object_session(instance)
    if session is not None:
        return network_info.for_instances(session, [instance.uuid])[instance.uuid]
    with reader() as session:
        return network_info.for_instances(session, [instance.uuid])[instance.uuid]


def instance_payload(instance, network_info=None, placed_on=None):
    """``network_info``: the instance's, when the caller fetched it for a batch;
    ``placed_on``: (host, node) it was just claimed on, when ``instance`` is the
    row as loaded before the claim."""
    host, node = placed_on or (instance.host, instance.node)
    return {
        "uuid": instance.uuid,
        "name": instance.name,
        "instance_name": f"instance-{instance.id:08x}",
        "project_id": instance.project_id,
        "user_id": instance.user_id,
        "image_ref": instance.image_ref,
        "flavor": instance.flavor,
        "vcpus": instance.vcpus,
        "memory_mb": instance.memory_mb,
        "root_gb": instance.root_gb,
        "ephemeral_gb": instance.ephemeral_gb,
        "key_name": instance.key_name,
        "key_data": instance.key_data,
        "user_data": instance.user_data,
        "metadata": instance.metadata_ or {},
        "config_drive": instance.config_drive,
        "availability_zone": instance.availability_zone,
        "launch_index": instance.launch_index,
        "host": host,
        "node": node,
        "network_info": network_info if network_info is not None
        else _network_info(instance),
    }
