"""nova-lite: an OpenStack Compute API v2.1 controller.

    HTTP clients ─> api ─(row + outbox, one transaction)─> PostgreSQL
                          outbox relay ─> RabbitMQ ─> conductor ─> scheduler ─> compute.<host>
                                                        ^                          │
                                                        └──── state reports ───────┘

Packages, top layer first (imports go one way, down; services never import
each other; tests/unit/test_import_layers.py, doc/architecture.md):

    cmd/  service.py   console scripts and the process that runs a service
    -- services --
    api/         HTTP: Identity v3, Compute v2.1, Image v2, Networking v2 subsets (Flask)
    conductor/   drives builds and deletes, writes what computes report
    scheduler/   filters + weighers + one atomic claim
    compute/     one per hypervisor host; virt drivers in compute/virt/
    cli/         the `nova-lite` user command line (HTTP only)
    -- shared layers --
    network/     addresses, ports, security groups; host/, the host data plane
    rpc/         messaging
    db/          state
    objects/     shared vocabulary: instance states, build payloads
    conf/  version.py  exception.py  log.py   configuration, errors, logging
"""
