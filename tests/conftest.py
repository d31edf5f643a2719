"""Session-wide real dependencies: one PostgreSQL and one RabbitMQ per test run.

Fixtures:
  postgres        a PostgreSQL server (tests.fixtures.postgres.PostgresServer)
  rabbit          a RabbitMQ node (tests.fixtures.rabbitmq.RabbitServer)
  configured      CONF pointed at both, schema migrated, token key written,
                  admin/demo users and the default flavors created
  app, client     the API's Flask app and its test client (in-process)
  admin_headers   X-Auth-Token headers for admin (admin project) / demo (demo project)
  demo_headers
  live_api        the in-process API over HTTP (tests.fixtures.live_api.LiveAPI)

Only fixtures here: helpers live in tests/fixtures/ (the users' passwords and
the one login in tests.fixtures.credentials), and no module imports a conftest
(tests/unit/test_test_layout.py).
"""
import os
import tempfile

import pytest

from nova_lite.conf import CONF
from tests.fixtures.credentials import (
    ADMIN_PASSWORD,
    DEMO_PASSWORD,
    SERVICE_PASSWORD,
    login,
)


@pytest.fixture(scope="session")
def postgres():
    from tests.fixtures.postgres import PostgresServer, find_bin
    try:
        find_bin("initdb")
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def rabbit():
    from tests.fixtures.rabbitmq import SERVER, RabbitServer
    if not os.path.exists(SERVER):
        pytest.fail(f"{SERVER} is missing: install the Debian package rabbitmq-server "
                    "(tools/run-tests.sh does)", pytrace=False)
    server = RabbitServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def state_dir():
    path = tempfile.mkdtemp(prefix="nl-state-")
    yield path


@pytest.fixture(scope="session")
def configured(postgres, rabbit, state_dir):
    from nova_lite import conf
    from nova_lite.api.identity import tokens
    from nova_lite.db import bootstrap, migrate, session

    conf.parse_args([], default_config_files=[])
    key_file = os.path.join(state_dir, "fernet.key")
    # In-process code (the Flask app, bus tests) uses its own vhost, so work it
    # queues is never consumed by the service processes of the `cloud` fixture,
    # which use the default vhost of the same broker.
    rabbit.ctl("add_vhost", "inproc")
    rabbit.ctl("set_permissions", "-p", "inproc", "guest", ".*", ".*", ".*")
    overrides = {
        ("database", "connection"): postgres.url(),
        ("rpc", "transport_url"): rabbit.url + "inproc",
        ("identity", "fernet_key_file"): key_file,
        ("image", "storage_dir"): os.path.join(state_dir, "images"),
        (None, "state_path"): state_dir,
        ("rpc", "publish_timeout"): 5.0,
        # Never the machine's /etc/nova-lite/policy.yaml: the defaults in code
        # unless a test writes this file.
        ("oslo_policy", "policy_file"): os.path.join(state_dir, "policy-inproc.yaml"),
    }
    for (group, name), value in overrides.items():
        CONF.set_override(name, value, group=group)
    tokens.generate_key(key_file)
    migrate.sync(postgres.url())
    session.reset()
    bootstrap.ensure_user("admin", ADMIN_PASSWORD, "admin", "admin")
    bootstrap.ensure_user("demo", DEMO_PASSWORD, "demo", "member")
    bootstrap.ensure_user("nova-lite", SERVICE_PASSWORD, "service", "admin")
    bootstrap.ensure_default_flavors()
    from tests.fixtures import quotas as quota_fixtures
    with session.transaction() as db:
        quota_fixtures.unlimit(db)
    yield CONF


@pytest.fixture(scope="session")
def app(configured):
    from nova_lite.api.app import create_app
    application = create_app(start_relay=True)
    application.testing = True
    yield application
    application.extensions["nova_lite.outbox_relay"].stop()
    from nova_lite.db import revocations
    revocations.reset()                 # its listener, before PostgreSQL stops


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def admin_headers(app):
    return login(app.test_client(), "admin", ADMIN_PASSWORD, "admin")


@pytest.fixture(scope="session")
def demo_headers(app):
    return login(app.test_client(), "demo", DEMO_PASSWORD, "demo")


@pytest.fixture(scope="session")
def live_api(app):
    """The in-process API over HTTP (no worker services: servers stay in BUILD)."""
    from tests.fixtures.live_api import LiveAPI
    server = LiveAPI(app)
    yield server
    server.stop()
