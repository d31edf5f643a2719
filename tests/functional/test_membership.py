"""Remote-group membership told to hosts incrementally, on a real PostgreSQL:
the triggers of migration 0004 record who joins and leaves a group (a port
counts once bound) and which hosts hear of it; a fan-out pass sends one
message per hearing host, whatever the number of members; a host asks for a
whole set and is forgotten when it no longer needs one, never while a bind
that needs it is in flight (nova_lite.network.membership)."""
import ipaddress
import itertools
import json
import threading
import uuid

import pytest
from sqlalchemy import text

from tests.fixtures.networks import make_network
from tests.fixtures.waiting import until

_CIDRS = (f"10.{n // 256}.{n % 256}.0/24" for n in itertools.count(140 * 256 + 1))


class Net:
    """A project, its network and its 'default' group (whose rule names itself)."""

    def __init__(self):
        from nova_lite.db.session import transaction
        from nova_lite.network import security_groups
        self.project = str(uuid.uuid4())
        self.network_id, self.subnet_id = make_network(transaction, self.project,
                                                       next(_CIDRS))
        with transaction() as session:
            self.default = security_groups.ensure_default(session, self.project).id

    def group(self, name, names_itself=False):
        from nova_lite.db import models
        from nova_lite.db.session import transaction
        with transaction() as session:
            group = models.SecurityGroup(project_id=self.project, name=name)
            session.add(group)
            session.flush()
            if names_itself:
                session.add(models.SecurityGroupRule(
                    security_group_id=group.id, project_id=self.project,
                    direction="ingress", ethertype="IPv4", remote_group_id=group.id))
            return group.id

    def port(self, groups=None, host=None):
        """A server's port in ``groups`` (default: 'default'), bound to ``host``;
        returns (port_id, address)."""
        from nova_lite.db import models
        from nova_lite.db.session import transaction
        from nova_lite.network import ports
        with transaction() as session:
            network = session.get(models.Network, self.network_id)
            port = ports.create(session, network, self.project, device_id=str(uuid.uuid4()),
                                device_owner="compute:nova",
                                security_group_ids=groups or [self.default])
            address = session.execute(text(
                "SELECT host(address) FROM ip_allocations WHERE port_id = :p"),
                {"p": port.id}).scalar()
        if host:
            bind(port.id, host)
        return port.id, address


def bind(port_id, host, session=None):
    from nova_lite.db.session import transaction
    statement = text("UPDATE ports SET binding_host_id = :h WHERE id = :p")
    if session is not None:
        session.execute(statement, {"h": host, "p": port_id})
        return
    with transaction() as session:
        session.execute(statement, {"h": host, "p": port_id})


def changes(group_id):
    from nova_lite.db.session import reader
    with reader() as session:
        return [tuple(row) for row in session.execute(text(
            "SELECT host(address), member FROM security_group_member_changes "
            "WHERE security_group_id = :g ORDER BY id"), {"g": group_id})]


def hearers(group_id):
    from nova_lite.db.session import reader
    with reader() as session:
        return set(session.scalars(text(
            "SELECT host FROM security_group_hosts WHERE security_group_id = :g"),
            {"g": group_id}))


def drain():
    """Run passes until no change is left (other tests' too)."""
    from nova_lite.network import membership
    while membership.fanout_once()[0]:
        pass


def told(hosts, since):
    """{host: [args of update_security_group_members]} written after outbox id ``since``."""
    from nova_lite.db.session import reader
    with reader() as session:
        rows = session.execute(text(
            "SELECT routing_key, body FROM outbox WHERE id > :since AND "
            "body->>'method' = 'update_security_group_members' ORDER BY id"),
            {"since": since}).all()
    result = {}
    for routing_key, body in rows:
        host = routing_key[len("compute."):]
        if host in hosts:
            body = body if isinstance(body, dict) else json.loads(body)
            result.setdefault(host, []).append(body["args"])
    return result


def outbox_mark():
    from nova_lite.db.session import reader
    with reader() as session:
        return session.execute(text("SELECT coalesce(max(id), 0) FROM outbox")).scalar()


def hosts(*names):
    tag = uuid.uuid4().hex[:6]
    return [f"{name}-{tag}" for name in names]


@pytest.fixture
def net(configured):
    return Net()


# -- what the triggers record ----------------------------------------------------------
def test_a_port_is_a_member_once_bound_and_its_hosts_hear_of_the_group(net):
    h1, h2 = hosts("h1", "h2")
    port_id, address = net.port()
    assert (changes(net.default), hearers(net.default)) == ([], set())
    bind(port_id, h1)
    assert (changes(net.default), hearers(net.default)) == ([(address, True)], {h1})
    bind(port_id, h2)                   # moved: still a member, and h2 hears too
    assert (changes(net.default), hearers(net.default)) == ([(address, True)], {h1, h2})


def test_a_deleted_port_leaves_its_groups(net):
    from nova_lite.db.session import transaction
    from nova_lite.network import ports
    (h1,) = hosts("h1")
    port_id, address = net.port(host=h1)
    with transaction() as session:
        ports.delete(session, port_id)
    assert changes(net.default) == [(address, True), (address, False)]


def test_regrouping_a_bound_port_moves_its_address(net):
    from nova_lite.db import models
    from nova_lite.db.session import transaction
    from nova_lite.network import security_groups
    (h1,) = hosts("h1")
    other = net.group("other", names_itself=True)
    port_id, address = net.port(host=h1)
    with transaction() as session:
        port = session.get(models.Port, port_id)
        security_groups.set_port_groups(session, {"request_id": "t"}, port, [other])
    assert changes(net.default) == [(address, True), (address, False)]
    assert changes(other) == [(address, True)]
    assert h1 in hearers(other)


def test_a_group_no_rule_names_records_nothing(net):
    (h1,) = hosts("h1")
    plain = net.group("plain")           # egress rules only: nobody needs its members
    net.port(groups=[plain], host=h1)
    assert (changes(plain), hearers(plain)) == ([], set())


# -- the fan-out pass --------------------------------------------------------------------
def test_one_message_per_hearing_host_whatever_the_number_of_members(net):
    """One new member costs one change row and one message per host that
    hears of its group, with 3 members as with 30; a simulated host (no data
    plane) hears nothing."""
    from nova_lite.db import models
    from nova_lite.db.session import transaction
    from nova_lite.network import membership
    h1, h2, h3, sim = hosts("h1", "h2", "h3", "sim")
    with transaction() as session:
        session.add(models.ComputeNode(host=sim, hypervisor_hostname=sim,
                                       hypervisor_type="sim", vcpus=1, memory_mb=1,
                                       local_gb=1))
    small, large = net.group("small", names_itself=True), net.group("large",
                                                                    names_itself=True)
    for group, count in ((small, 3), (large, 30)):
        for n in range(count):
            net.port(groups=[group], host=(h1, h2, h3)[n % 3])
        net.port(groups=[group], host=sim)
    drain()
    for group in (small, large):
        mark = outbox_mark()
        _port, address = net.port(groups=[group], host=h1)
        assert changes(group) == [(address, True)]
        with transaction() as session:
            before = session.execute(text(
                "SELECT pass_number FROM security_group_fanout")).scalar()
        read, sent = membership.fanout_once()
        assert read >= 1
        messages = told({h1, h2, h3, sim}, mark)
        assert sorted(messages) == [h1, h2, h3], messages
        for host in (h1, h2, h3):
            (args,) = messages[host]
            assert args["updates"] == {group: {"add": [address], "remove": []}}
            assert args["snapshots"] == {}
            assert args["pass_number"] == before + 1
        assert changes(group) == []          # read once, then gone


def test_a_host_asks_for_a_whole_set_and_is_forgotten_when_it_needs_none(net):
    from nova_lite.db.session import transaction
    from nova_lite.network import membership
    h1, asker = hosts("h1", "asker")
    members = sorted((net.port(host=h1)[1] for _ in range(4)), key=ipaddress.ip_address)
    drain()
    mark = outbox_mark()
    with transaction() as session:
        membership.wanted(session, asker, [net.default])
    assert asker in hearers(net.default)
    membership.fanout_once()
    (args,) = told({asker, h1}, mark)[asker]
    assert sorted(args["snapshots"][net.default], key=ipaddress.ip_address) == members
    assert told({h1}, mark) == {}           # nobody else is told anything
    with transaction() as session:
        assert membership.unwanted(session, asker, [net.default]) == [net.default]
        # h1 has bound ports whose rules name the group: it keeps hearing
        assert membership.unwanted(session, h1, [net.default]) == []
    assert hearers(net.default) == {h1}


def test_forgetting_a_host_waits_for_a_bind_in_flight_and_keeps_it(net):
    """A host said it needs no set while a port that needs one is being bound
    there: the prune waits for the bind and then keeps the host."""
    from nova_lite.db.session import transaction
    from nova_lite.network import membership
    (h7,) = hosts("h7")
    with transaction() as session:
        membership.wanted(session, h7, [net.default])
    port_id, _address = net.port()
    result, started = {}, threading.Event()

    def forget():
        started.set()
        with transaction() as session:
            result["forgotten"] = membership.unwanted(session, h7, [net.default])

    with transaction() as session:
        bind(port_id, h7, session)           # holds h7's row FOR KEY SHARE
        thread = threading.Thread(target=forget)
        thread.start()
        started.wait(10)
        assert not until(lambda: "forgotten" in result, timeout=1)   # it waits
    thread.join(30)
    assert result == {"forgotten": []}
    assert h7 in hearers(net.default)


def test_one_pass_at_a_time(net):
    from nova_lite.db.session import transaction
    from nova_lite.network import membership
    (h1,) = hosts("h1")
    _port, address = net.port(host=h1)
    with transaction() as session:
        session.execute(text("SELECT 1 FROM security_group_fanout FOR UPDATE"))
        assert membership.fanout_once() == (0, 0)
    assert changes(net.default) == [(address, True)]
    drain()
    assert changes(net.default) == []
