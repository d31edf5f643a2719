"""Running the host's networking commands (ip, nft, dnsmasq, modprobe) with
errors that say what failed."""
import logging
import shutil
import subprocess

LOG = logging.getLogger(__name__)
TIMEOUT = 60


class CommandError(RuntimeError):
    def __init__(self, argv, returncode, stderr):
        self.argv, self.returncode, self.stderr = list(argv), returncode, stderr
        super().__init__(f"{' '.join(argv[:4])}{' ...' if len(argv) > 4 else ''} "
                         f"failed ({returncode}): {stderr.strip()[-2000:]}")


def run(argv, input=None, check=True, timeout=TIMEOUT):
    """Run ``argv``; its stdout (text). Raises CommandError when it fails
    (``check``) or its binary is missing."""
    argv = [str(arg) for arg in argv]
    LOG.debug("running %s", " ".join(argv))
    try:
        result = subprocess.run(argv, input=input, capture_output=True, text=True,
                                timeout=timeout, check=False)
    except FileNotFoundError:
        raise CommandError(argv, 127, f"{argv[0]} not found") from None
    except subprocess.TimeoutExpired:
        raise CommandError(argv, -1, f"timed out after {timeout} s") from None
    if check and result.returncode != 0:
        raise CommandError(argv, result.returncode, result.stderr or result.stdout)
    return result.stdout


def available(binary):
    return shutil.which(binary) is not None or shutil.which(binary, path="/usr/sbin:/sbin")
