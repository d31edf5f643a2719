"""The compute service: one per hypervisor host, consuming ``compute.<host>``.

    build_and_run_instance(instance)  -> driver.spawn   -> conductor.instance_spawned
                                                        |  or instance_spawn_failed
                                                           (after driver.destroy cleanup)
    terminate_instance(uuid)          -> driver.destroy -> conductor.instance_terminated
    every [DEFAULT] report_interval   -> driver.host_resources -> conductor.compute_node_update

It never touches PostgreSQL: everything it needs arrives in the message and
everything it learns goes back to the conductor. Handlers for one instance
run one at a time (a per-instance lock); different instances run in parallel.
Drivers live in ``virt/`` behind one interface (``virt/driver.py``).
May import: rpc, conf, objects, network.host; never db, the rest of network or
another service (tests/unit/test_import_layers.py).
"""
