"""Running the host tools the driver needs (qemu-img, qemu-system-x86_64),
with errors that say what failed and which Debian package provides a
missing tool."""
import json
import subprocess

PACKAGES = {"qemu-img": "qemu-utils", "qemu-system-x86_64": "qemu-system-x86"}


class CommandError(Exception):
    pass


def run(argv, timeout=600, ok_codes=(0,)):
    """Run ``argv``; its stdout (text), or CommandError with (the end of) its
    stderr when its exit code is not one of ``ok_codes``."""
    try:
        result = subprocess.run(argv, check=False, capture_output=True, text=True,
                                timeout=timeout, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        package = PACKAGES.get(argv[0], "that provides it")
        raise CommandError(f"{argv[0]} is not installed (Debian package {package})") from None
    except subprocess.TimeoutExpired:
        raise CommandError(f"{' '.join(argv)} did not finish within {timeout} s") from None
    if result.returncode not in ok_codes:
        detail = (result.stderr or result.stdout).strip()[-1000:]
        raise CommandError(f"{' '.join(argv)} failed (exit {result.returncode}): {detail}")
    return result.stdout


def image_info(path):
    """``qemu-img info`` of one file (no backing chain), as a dict."""
    return json.loads(run(["qemu-img", "info", "--output=json", "-U", path]))
