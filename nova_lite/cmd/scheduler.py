"""nova-lite-scheduler: consumes the ``scheduler`` queue (run as many as you like)."""
import functools
import sys

from nova_lite import service
from nova_lite.conf import CONF
from nova_lite.db import services
from nova_lite.scheduler.manager import SchedulerManager


def main(argv=None):
    service.setup("nova-lite-scheduler", sys.argv[1:] if argv is None else argv)
    service.serve("nova-lite-scheduler", "scheduler", SchedulerManager(),
                  [service.Periodic("heartbeat", CONF.report_interval, functools.partial(
                      services.record_heartbeat, CONF.host, "nova-lite-scheduler", "scheduler"))])


if __name__ == "__main__":
    main()
