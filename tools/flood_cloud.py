"""The cloud a flood drives: a running one (a Target), or one of its own
(own_cloud: PostgreSQL, RabbitMQ and every service from the test fixtures)."""
import configparser
import contextlib
import dataclasses
import os
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# What --start-cloud bootstraps (tests/fixtures/credentials.py).
ADMIN_PASSWORD = "admin-secret"
DEMO_PASSWORD = "demo-secret"


@dataclasses.dataclass
class Target:
    """A running cloud: its API, database, broker and service processes."""
    url: str
    db_url: str
    amqp_url: str
    pids: dict = dataclasses.field(default_factory=dict)     # name -> pid
    hosts: int | None = None
    user: str = "demo"
    password: str = DEMO_PASSWORD
    project: str = "demo"
    admin_password: str = ADMIN_PASSWORD
    config_file: str | None = None          # its nova-lite.conf, if readable
    # The flood's project's limits (set as admin before a run; -1: unlimited):
    # instances and ports; cores and RAM in proportion (flood_http.ensure_quota).
    quota: int = 1_000_000


def conf_value(config_file, section, key, default):
    """``key`` in ``section`` of a nova-lite.conf (oslo.config's ini), else ``default``."""
    if not config_file or not os.path.exists(config_file):
        return default
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    with contextlib.suppress(configparser.Error, OSError):
        parser.read(config_file)
        return parser.get(section, key, fallback=default).strip() or default
    return default


def shared_queue_type(target, default="quorum"):
    """The type of the cloud's shared queues (conductor, scheduler):
    ``[rpc] shared_queue_type`` of its configuration (nova_lite/conf/rpc.py,
    quorum by default; nova_lite/rpc/topology.py declares them with it)."""
    return conf_value(target.config_file, "rpc", "shared_queue_type", default)


@contextlib.contextmanager
def own_cloud(hosts, schedulers=1, api_workers=2, extra_conf="", sim_conf="",
              batched_reports=True, durable=True, rabbit_nodes=1,
              compute_queue_type="classic"):
    """PostgreSQL, RabbitMQ and every service from the test fixtures; yields a
    Target. PostgreSQL keeps its own durability settings (fsync,
    synchronous_commit on), as devstack runs it, unless ``durable`` is False.
    ``rabbit_nodes`` 3: a 3-node RabbitMQ cluster (tests.fixtures.rabbit_cluster;
    the services get every node in their transport_url) instead of one node;
    the flood then reads no queue depths (its sampler speaks to one node).
    The Target keeps ``cloud``, ``postgres`` and ``rabbit`` (the node or the
    cluster) for the fault mode (tools/flood_faults.py). ``compute_queue_type``:
    classic by default (doc/scale.md: thousands of quorum queues on one node
    cost a core idle); the fault mode uses quorum, nova-lite's and devstack's
    default (a classic queue lives on one node of a cluster: while that node
    is down its host cannot consume)."""
    from nova_lite.api.identity import tokens
    from tests.fixtures.postgres import PostgresServer
    from tests.fixtures.rabbitmq import RabbitServer
    from tests.fixtures.services import Cloud
    state = tempfile.mkdtemp(prefix="nl-flood-")
    postgres = PostgresServer(durable=durable).start()
    rabbit = None
    cloud = None
    try:
        if rabbit_nodes > 1:
            from tests.fixtures.rabbit_cluster import RabbitCluster
            rabbit = RabbitCluster(size=rabbit_nodes).start()
        else:
            rabbit = RabbitServer().start()
        key = os.path.join(state, "fernet.key")
        tokens.generate_key(key)
        cloud = Cloud(postgres, rabbit, state, key, sim_hosts=hosts, name="flood",
                      db_name="flood", vhost="flood", schedulers=schedulers,
                      api_workers=api_workers, batched_reports=batched_reports,
                      # The reconciler and liveness as devstack runs them (hosts
                      # report on their own lane; slow tasks are nudged with
                      # backoff: doc/scale.md).
                      default_conf="report_interval = 10\n",
                      conductor_conf="reconcile_interval = 30\nredrive_after = 60\n",
                      # A pool as large as a process's busy threads: an overflow
                      # connection is opened and closed per use (a PostgreSQL
                      # backend started each time; 40 % of its CPU in a flood).
                      extra_conf="[database]\npool_size = 24\nmax_overflow = 8\n"
                      + extra_conf + f"\n[rpc]\ncompute_queue_type = {compute_queue_type}\n"
                      "[sim]\nreport_interval = 30\n" + sim_conf)
        cloud.start(timeout=max(120, hosts // 20))
        pids = {**cloud.pids(), "postgres": postgres.proc.pid}
        if rabbit_nodes > 1:
            pids.update({f"rabbitmq-{i + 1}": node.beam_pid() or node.proc.pid
                         for i, node in enumerate(rabbit.nodes)})
        else:
            pids["rabbitmq"] = rabbit.beam_pid() or rabbit.proc.pid
        target = Target(url=cloud.url, db_url=cloud.db_url,
                        amqp_url=None if rabbit_nodes > 1 else
                        cloud.rabbit_url.replace("rabbit://", "amqp://"), pids=pids,
                        config_file=cloud.config_file)
        target.cloud, target.postgres, target.rabbit = cloud, postgres, rabbit
        yield target
    finally:
        if cloud is not None:
            cloud.stop()
        if rabbit is not None:
            rabbit.stop()
        postgres.stop()
        if os.environ.get("FLOOD_KEEP_LOGS"):
            print(f"logs kept in {state}")
        else:
            shutil.rmtree(state, ignore_errors=True)


def pids_from(directory):
    found = {}
    if directory and os.path.isdir(directory):
        for name in os.listdir(directory):
            if name.endswith(".pid"):
                with contextlib.suppress(OSError, ValueError):
                    with open(os.path.join(directory, name)) as f:
                        found[name[:-4]] = int(f.read().split()[0])
    return found
