"""What a compute host is told about an instance. Compute hosts never read the
database, so build_and_run_instance carries everything the driver needs."""


def instance_payload(instance):
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
        "host": instance.host,
        "node": instance.node,
    }
