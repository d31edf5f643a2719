"""nova-lite: an OpenStack Compute API v2.1 controller.

    HTTP clients ─> api ─(row + outbox, one transaction)─> PostgreSQL
                          outbox relay ─> RabbitMQ ─> conductor ─> scheduler ─> compute.<host>
                                                        ^                          │
                                                        └──── state reports ───────┘

Packages (imports go one way: services import only the shared layer below them):

    api/         HTTP: Identity v3, Compute v2.1, Image v2 subsets (Flask)
    conductor/   drives builds and deletes, writes what computes report
    scheduler/   filters + weighers + one atomic claim
    compute/     one per hypervisor host; virt drivers in compute/virt/
    network/     addresses and the host data plane (to come)
    cli/         the `nova-lite` user command line (HTTP only)
    cmd/         console scripts
    -- shared layer --
    rpc/  db/  conf/  objects/   messaging, state, configuration, shared vocabulary
"""
