"""The conductor: drives every long task and owns the database writes that
compute hosts report (they never connect to PostgreSQL themselves).

Build, as the conductor sees it:

    build_instance         (from the API outbox)   -> cast scheduler.schedule_instance
    schedule_failed        (from the scheduler)    -> ERROR + fault "No valid host"
    instance_spawned       (from compute.<host>)   -> ACTIVE (CAS from building/spawning)
    instance_spawn_failed  (from compute.<host>)   -> ERROR + fault, claim released
Delete:
    instance_terminated    (from compute.<host>)   -> row soft-deleted, claim released
Hosts:
    compute_node_update    (from compute.<host>)   -> compute_nodes row + heartbeat

Every handler is a compare-and-set on the instance's state, so a message
delivered twice (or late, after a delete) changes nothing the second time.
May import: db, rpc, conf, objects.
"""
