"""What a compute host is told about an instance. Compute hosts never read the
database, so build_and_run_instance carries everything the driver needs,
including its network_info, which the caller looks up (nova_lite.network.info,
one batched lookup for all the instances it sends) and passes in:
this module imports nothing of nova_lite."""


def instance_payload(instance, network_info, placed_on=None):
    """``network_info``: the instance's (``nova_lite.network.info.for_instances``);
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
        "network_info": network_info,
    }
