"""Which hosts a delete treats as down (db/instances.host_down): the compute
service forced down or silent for service_down_time; a host with no service
row is not known to be down."""
import uuid

from sqlalchemy import text

from nova_lite.db import instances
from nova_lite.db.session import reader, transaction
from tests.fixtures.nodes import make_node


def down(host):
    with reader() as session:
        return instances.host_down(session, host)


def test_up_silent_forced_down_and_unknown_hosts(configured):
    tag = f"hd-{uuid.uuid4().hex[:6]}"
    up, silent, forced = f"{tag}-up", f"{tag}-silent", f"{tag}-forced"
    for host in (up, silent, forced):
        make_node(host)
    with transaction() as session:
        session.execute(text(
            "UPDATE services SET last_seen_up = now() - make_interval(secs => :age) "
            "WHERE host = :h"), {"h": silent, "age": configured.service_down_time + 5})
        session.execute(text("UPDATE services SET forced_down = true WHERE host = :h"),
                        {"h": forced})
    assert (down(up), down(silent), down(forced)) == (False, True, True)
    assert down(f"{tag}-never-registered") is False
    with transaction() as session:          # no scheduling on these later
        session.execute(text("UPDATE services SET disabled = true WHERE host LIKE :t"),
                        {"t": f"{tag}-%"})
