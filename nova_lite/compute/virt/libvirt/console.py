"""The serial console: QEMU appends the guest's ttyS0 to ``console.log`` in
the instance directory (across restarts), and console_output reads it back."""
import os

LOG_NAME = "console.log"
MAX_BYTES = 1024 * 1024     # what console_output returns at most: the newest part


def log_path(directory):
    return os.path.join(directory, LOG_NAME)


def read(path, max_bytes=MAX_BYTES):
    """The newest ``max_bytes`` of the log as text ("" before the first output)."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            handle.seek(max(0, size - max_bytes))
            data = handle.read()
    except FileNotFoundError:
        return ""
    return data.decode("utf-8", errors="replace")
