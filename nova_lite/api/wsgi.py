"""WSGI entry point for any server: ``gunicorn nova_lite.api.wsgi:application``.

Reads the config file named by $NOVA_LITE_CONFIG_FILE (default
/etc/nova-lite/nova-lite.conf). ``nova-lite-api`` is the usual way to run it."""
import os

from nova_lite import conf, log
from nova_lite.api.app import create_app


def _load():
    path = os.environ.get("NOVA_LITE_CONFIG_FILE")
    conf.parse_args([], default_config_files=[path] if path else None)
    log.setup("nova-lite-api")
    return create_app()


application = _load()
