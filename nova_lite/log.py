"""Logging set-up shared by every service: one line per record, with the
process and thread so concurrent handlers can be told apart."""
import logging
import sys

from nova_lite.conf import CONF

FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s [%(threadName)s] %(message)s"


def setup(name):
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    if CONF.log_file:
        handler = logging.FileHandler(CONF.log_file)
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if CONF.debug else logging.INFO)
    # oslo_policy logs every check at DEBUG: one line per request at least.
    for noisy in ("amqp", "kombu", "urllib3", "oslo_policy"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger(name).debug("logging set up")
