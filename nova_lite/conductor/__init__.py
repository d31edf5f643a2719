"""The conductor: drives every long task and owns the database writes that
compute hosts report (they never connect to PostgreSQL themselves).

Build, as the conductor sees it:

    (the API outbox casts scheduler.schedule_instance directly; build_instance
     here only forwards messages queued by older versions)
    schedule_failed        (from the scheduler)    -> ERROR + fault "No valid host"
    instance_spawned       (from compute.<host>)   -> ACTIVE (CAS from building/spawning)
    instances_spawned      (many, coalesced)       -> the same, one transaction
    instance_spawn_failed  (from compute.<host>)   -> ERROR + fault, claim released
Delete:
    instance_terminated    (from compute.<host>)   -> row soft-deleted, claim released
    instances_terminated   (many, coalesced)       -> the same, one transaction
Tasks on running instances (their steps: nova_lite.objects.tasks):
    instance_action_done   (from compute.<host>)   -> the next step, or the task's
                                                      final vm_state (db/tasks.py)
    instance_action_failed (from compute.<host>)   -> the task's undo + a fault
Hosts:
    compute_node_update    (from compute.<host>)   -> compute_nodes row + heartbeat

Every handler is a compare-and-set on the instance's state, so a message
delivered twice (or late, after a delete) changes nothing the second time.
May import: db, rpc, conf, objects, network; never another service
(tests/unit/test_import_layers.py).
"""
