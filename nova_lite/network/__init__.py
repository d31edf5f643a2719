"""Networking: addresses, ports, floating IPs and security groups (the control
plane, on PostgreSQL) and each compute host's data plane (``host/``).

    API (Networking v2 under /network, compute proxies, server create)
      │ one transaction: ports + addresses + instance rows + outbox
      v
    ports ── ipam           addresses are rows; allocation is an UPDATE ...
      │                     SKIP LOCKED, so never twice, never waiting
      v
    info.for_instances      network_info: what a host needs (vifs, addresses,
      │                     floating IPs, security rules expanded)
      v  (in build_and_run_instance / refresh_network messages)
    host/  on each compute host: a Linux bridge per network, dnsmasq for
           DHCP (and RAs), nftables for security groups and floating-IP NAT

Modules:
  exceptions       errors, each with its Neutron error type
  scope            every resource has a project; a context without one owns
                   and sees nothing
  ipam             populate a subnet's pool, allocate, release
  networks         networks and subnets: create, validate, delete
  ports            ports: create (MAC, addresses, groups), delete, list
  instance_ports   the ports of a server: from its create request, and freed
  floating_ips     allocate, associate, disassociate, release
  security_groups  groups and rules; a 'default' group per project
  info             network_info for compute hosts
  host/            the data plane (imported by compute only; no database)

Control-plane modules import ``db``, ``rpc`` (casts and the outbox), ``conf``
and ``nova_lite.exception``; ``host`` imports the standard library and ``conf``
only (tests/unit/test_import_layers.py). See doc/networking.md for the model and the choices made.
"""
