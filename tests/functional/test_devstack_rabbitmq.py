"""What devstack/stack.sh writes for RabbitMQ binds every listener to the
loopback: the files come from devstack/lib/rabbitmq.sh's own functions (run
in bash, as stack.sh runs them), and a real RabbitMQ node started with them
(on free ports, its own epmd: never this machine's broker or epmd) listens on
127.0.0.1 only: AMQP, the Erlang distribution and epmd; and its CLI reaches
it there."""
import ipaddress
import os
import shutil
import signal
import subprocess
import tempfile

import pytest

from tests.fixtures import ports, processes
from tests.fixtures.rabbitmq import CTL, SERVER, USER

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIB = os.path.join(REPO, "devstack", "lib")


def generated(function, **settings):
    """The output of a devstack/lib/rabbitmq.sh function, with these settings."""
    script = (f'. "{LIB}/common.sh"; . "{LIB}/rabbitmq.sh"; have_systemd() {{ true; }}; '
              f'{function}')
    env = {"PATH": os.environ["PATH"], **settings}
    result = subprocess.run(["bash", "-c", script], env=env, capture_output=True,
                            text=True, check=True, timeout=30)
    return result.stdout


def test_the_generated_files_bind_everything_to_the_loopback(tmp_path):
    etc = str(tmp_path)
    conf = generated("rabbit_conf", RABBITMQ_ETC=etc)
    assert "listeners.tcp.1 = 127.0.0.1:5672" in conf.splitlines()
    assert "management" not in conf
    env = generated("rabbit_env_conf", RABBITMQ_ETC=etc).splitlines()
    for line in ("NODENAME=rabbit@localhost", "DIST_PORT=25672",
                 'SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"',
                 'CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"',
                 "ERL_EPMD_ADDRESS=127.0.0.1", "ERL_EPMD_PORT=4369"):
        assert line in env
    socket = generated("rabbit_epmd_socket_conf").splitlines()
    assert socket[socket.index("ListenStream=") + 1] == "ListenStream=127.0.0.1:4369"
    # The management plugin, when enabled, listens there too.
    (tmp_path / "enabled_plugins").write_text("[rabbitmq_management].\n")
    assert "management.tcp.ip = 127.0.0.1" in generated(
        "rabbit_conf", RABBITMQ_ETC=etc).splitlines()
    files = generated("rabbit_config_files", RABBITMQ_ETC=etc, SYSTEMD_ETC="/sd").split()
    assert files == [f"{etc}/rabbitmq.conf", "rabbit_conf", f"{etc}/rabbitmq-env.conf",
                     "rabbit_env_conf", "/sd/epmd.socket.d/nova-lite.conf",
                     "rabbit_epmd_socket_conf"]


def listening(port):
    """Local addresses of the TCP sockets listening on ``port``: [(address, inode)]."""
    found = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        with open(table) as handle:
            for line in handle.readlines()[1:]:
                fields = line.split()
                address, hex_port = fields[1].split(":")
                if fields[3] == "0A" and int(hex_port, 16) == port:       # LISTEN
                    # The address is in 32-bit words of host (little-endian) order.
                    raw = b"".join(bytes.fromhex(address[i:i + 8])[::-1]
                                   for i in range(0, width, 8))
                    found.append((str(ipaddress.ip_address(raw)), fields[9]))
    return found


def pid_of_socket(inode):
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    return int(pid)
        except OSError:
            continue
    return None


@pytest.fixture
def node():
    if not os.path.exists(SERVER):
        pytest.fail("RabbitMQ is not installed (apt-get install rabbitmq-server)",
                    pytrace=False)
    base = tempfile.mkdtemp(prefix="nl-devstack-rmq-")
    amqp, dist, epmd = ports.free_port(), ports.free_port(), ports.free_port()
    settings = {"RABBITMQ_ETC": base, "RABBIT_PORT": str(amqp),
                "RABBIT_DIST_PORT": str(dist), "RABBIT_EPMD_PORT": str(epmd),
                "RABBIT_NODENAME": f"nldevstack{amqp}@localhost"}
    with open(os.path.join(base, "rabbitmq.conf"), "w") as f:
        f.write(generated("rabbit_conf", **settings) + "log.console = true\nlog.file = false\n"
                "disk_free_limit.absolute = 50MB\n")
    with open(os.path.join(base, "rabbitmq-env.conf"), "w") as f:
        f.write(generated("rabbit_env_conf", **settings))
    for name, text in (("enabled_plugins", "[].\n"), ("advanced.config", "[].\n"),
                       (".erlang.cookie", "nova-lite-devstack-test")):
        with open(os.path.join(base, name), "w") as f:
            f.write(text)
    os.chmod(os.path.join(base, ".erlang.cookie"), 0o400)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RABBITMQ_", "ERL_"))}
    env.update({"HOME": base,
                "RABBITMQ_CONF_ENV_FILE": os.path.join(base, "rabbitmq-env.conf"),
                "RABBITMQ_CONFIG_FILE": os.path.join(base, "rabbitmq"),
                "RABBITMQ_MNESIA_BASE": os.path.join(base, "mnesia"),
                "RABBITMQ_LOG_BASE": os.path.join(base, "log"),
                "RABBITMQ_ENABLED_PLUGINS_FILE": os.path.join(base, "enabled_plugins"),
                "RABBITMQ_ADVANCED_CONFIG_FILE": os.path.join(base, "advanced.config"),
                "RABBITMQ_PID_FILE": os.path.join(base, "rabbitmq.pid")})
    os.makedirs(os.path.join(base, "log"), exist_ok=True)
    processes.chown_for(base, USER)
    proc = processes.start([SERVER], os.path.join(base, "server.log"), env=env, cwd=base,
                           **processes.run_as_kwargs(USER))
    try:
        ports.wait_for_port("127.0.0.1", amqp, 120, proc)
        yield {"amqp": amqp, "dist": dist, "epmd": epmd, "env": env, "base": base}
    finally:
        processes.stop(proc, timeout=30)
        # The node started its own epmd on our port: end it, by its PID.
        for _, inode in listening(epmd):
            pid = pid_of_socket(inode)
            if pid:
                os.kill(pid, signal.SIGTERM)
        shutil.rmtree(base, ignore_errors=True)


def test_a_node_with_these_files_listens_on_the_loopback_only(node):
    ctl = subprocess.run([CTL, "-q", "await_startup", "--timeout", "60"], env=node["env"],
                         cwd=node["base"], capture_output=True, text=True, timeout=120,
                         **processes.run_as_kwargs(USER))
    assert ctl.returncode == 0, ctl.stderr          # the CLI reaches it on loopback
    for kind in ("amqp", "dist", "epmd"):
        addresses = {address for address, _ in listening(node[kind])}
        # 127.0.0.1; epmd adds ::1 itself. Never 0.0.0.0, :: or another address.
        assert "127.0.0.1" in addresses and addresses <= {"127.0.0.1", "::1"}, \
            (kind, addresses)
