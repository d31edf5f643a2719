"""IPAM under concurrency, against the real PostgreSQL: many transactions
allocating from one subnet at once never share an address, never lose one,
and an exhausted pool fails exactly the requests that could not be served.

Each allocation is what the API does for a port: its own transaction,
``ports.create`` (port row, random MAC, an address picked with
``FOR UPDATE SKIP LOCKED``, default group membership)."""
import concurrent.futures
import ipaddress
import time

import pytest
from sqlalchemy import func, select

from nova_lite.conf import CONF

THREADS = 50


@pytest.fixture
def wide_pool(configured):
    """A connection pool as wide as the thread pool, so the transactions
    really run side by side."""
    from nova_lite.db import session
    CONF.set_override("pool_size", THREADS, group="database")
    CONF.set_override("max_overflow", 10, group="database")
    session.reset()
    yield
    CONF.clear_override("pool_size", group="database")
    CONF.clear_override("max_overflow", group="database")
    session.reset()


def _context():
    from nova_lite.api.context import RequestContext
    from nova_lite.db import models
    from nova_lite.db.session import reader
    with reader() as session:
        project_id = session.scalar(select(models.Project.id).where(
            models.Project.name == "admin"))
    return RequestContext(request_id="req-ipam", project_id=project_id, roles=("admin",))


def _network(ctx, cidr):
    from nova_lite.db.session import transaction
    from nova_lite.network import networks, security_groups
    with transaction() as session:
        network = networks.create_network(session, ctx, name=f"ipam-{cidr}")
        subnet = networks.create_subnet(session, ctx, network.id, cidr=cidr, ip_version=4)
        group = security_groups.ensure_default(session, ctx.project_id)
    return network, subnet, group.id


def _drop(network_id):
    from sqlalchemy import text

    from nova_lite.db.session import transaction
    with transaction() as session:
        session.execute(text("DELETE FROM ports WHERE network_id = :id"), {"id": network_id})
        session.execute(text("DELETE FROM networks WHERE id = :id"), {"id": network_id})


def _allocate(network, project_id, group_id):
    from nova_lite.db.session import transaction
    from nova_lite.network import ipam, ports
    with transaction() as session:
        port = ports.create(session, network, project_id, security_group_ids=[group_id])
        ((_, address),) = ipam.addresses_of(session, [port.id])[port.id]
    return port.id, address


def _release(port_id):
    from nova_lite.db.session import transaction
    from nova_lite.network import ports
    with transaction() as session:
        ports.delete(session, port_id)


def _usage(subnet_id):
    from nova_lite.db.session import reader
    from nova_lite.network import ipam
    with reader() as session:
        return ipam.usage(session, subnet_id)


def _port_count(network_id):
    from nova_lite.db import models
    from nova_lite.db.session import reader
    with reader() as session:
        return session.scalar(select(func.count()).select_from(models.Port).where(
            models.Port.network_id == network_id))


def _pool_addresses(subnet):
    addresses = set()
    for pool in subnet.allocation_pools:
        first, last = (ipaddress.ip_address(pool[k]) for k in ("start", "end"))
        addresses.update(str(ipaddress.ip_address(a))
                         for a in range(int(first), int(last) + 1))
    return addresses


def test_a_thousand_concurrent_allocations_get_distinct_addresses(wide_pool):
    ctx = _context()
    network, subnet, group_id = _network(ctx, "10.140.0.0/22")
    try:
        pool = _pool_addresses(subnet)
        assert len(pool) == 1021 and _usage(subnet.id) == (0, 1021)
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(THREADS) as executor:
            results = list(executor.map(lambda _: _allocate(network, ctx.project_id,
                                                            group_id), range(1000)))
        allocated = time.monotonic() - started
        addresses = [address for _, address in results]
        assert len(set(addresses)) == 1000
        assert set(addresses) <= pool
        assert _usage(subnet.id) == (1000, 1021)
        assert _port_count(network.id) == 1000

        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(THREADS) as executor:
            list(executor.map(_release, [port_id for port_id, _ in results]))
        released = time.monotonic() - started
        assert _usage(subnet.id) == (0, 1021)
        assert _port_count(network.id) == 0
        print(f"\n1,000 allocations in {allocated:.1f}s, 1,000 releases in "
              f"{released:.1f}s ({THREADS} threads)")
    finally:
        _drop(network.id)


def test_concurrent_requests_on_an_exhausted_pool_fail_exactly_the_surplus(wide_pool):
    from nova_lite.network import exceptions
    ctx = _context()
    network, subnet, group_id = _network(ctx, "10.141.0.0/26")
    try:
        pool = _pool_addresses(subnet)
        assert len(pool) == 61

        def attempt(_):
            try:
                return _allocate(network, ctx.project_id, group_id)
            except exceptions.IpAddressExhausted as exc:
                return exc

        with concurrent.futures.ThreadPoolExecutor(THREADS) as executor:
            outcomes = list(executor.map(attempt, range(100)))
        served = [o for o in outcomes if isinstance(o, tuple)]
        refused = [o for o in outcomes if isinstance(o, exceptions.IpAddressExhausted)]
        assert len(served) == 61 and len(refused) == 39
        assert {address for _, address in served} == pool
        assert _usage(subnet.id) == (61, 61)
        assert _port_count(network.id) == 61           # refused requests left nothing
    finally:
        _drop(network.id)


def test_a_double_release_is_refused_and_changes_nothing(configured):
    from nova_lite.db import models
    from nova_lite.db.session import transaction
    from nova_lite.network import exceptions, ipam, ports
    ctx = _context()
    network, subnet, _group = _network(ctx, "10.79.0.0/29")
    try:
        with transaction() as session:
            port = ports.create(session, session.get(models.Network, network.id),
                                ctx.project_id)
            port_id = port.id
            ((subnet_id, address),) = ipam.addresses_of(session, [port_id])[port_id]
        with transaction() as session:
            ipam.release(session, subnet_id, address, port_id)
        with transaction() as session, \
                pytest.raises(exceptions.AddressNotAllocated, match=address):
            ipam.release(session, subnet_id, address, port_id)
        with transaction() as session:
            assert ipam.usage(session, subnet_id) == (0, 5)
            # The freed address is handed out again, once.
            other = ports.create(session, session.get(models.Network, network.id),
                                 ctx.project_id)
            assert ipam.addresses_of(session, [other.id])[other.id] == [(subnet_id, address)]
    finally:
        _drop(network.id)
