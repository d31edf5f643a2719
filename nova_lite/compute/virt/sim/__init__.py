"""The ``sim`` virt driver: simulated hypervisors for scale runs.

    nova-lite-compute ([compute] virt_driver = sim, [sim] hosts = H)
        └─ fleet.SimFleet: H simulated hosts in one process
              host k = ComputeManager(driver=SimDriver(host k), host=host k)
              one MultiTopicServer consumes every compute.<host k> queue over one
              connection; one Publisher carries every host's casts
              one reporter thread spreads the H heartbeats over [sim] report_interval

``driver.SimDriver`` keeps guests in memory; spawn and destroy take
``[sim] spawn_time`` / ``delete_time`` of simulated time (the host's message is
held, unacknowledged, for that long without occupying a thread) and spawns
fail at ``[sim] failure_rate``. See doc/scale.md.
May import: rpc, conf, objects (like the rest of compute: never db)."""
