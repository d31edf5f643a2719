"""``nova-lite keypair ...``: import or generate SSH key pairs, and list them.
A generated private key is shown once: it is written to ``--private-key FILE``
(mode 0600) or printed."""
import contextlib
import os

from nova_lite.cli import errors, parsing, session

COLUMNS = [("Name", "name"), ("Fingerprint", "fingerprint")]


def create_body(name, public_key=None):
    keypair = {"name": name}
    if public_key is not None:
        keypair["public_key"] = public_key
    return {"keypair": keypair}


def _read(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as exc:
        raise errors.CliError(f"Cannot read the {what} {path}: {exc.strerror}") from None


@contextlib.contextmanager
def private_key_file(path):
    """Open ``path`` for the private key before asking for it, so an unwritable
    path fails before a key pair is made. Yields a function writing the key
    (mode 0600, replacing any old content); a file this created is removed if
    the key never arrives."""
    created = not os.path.exists(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    except OSError as exc:
        raise errors.CliError(f"Cannot write the private key to {path}: "
                              f"{exc.strerror}") from None
    written = False

    def write(key):
        nonlocal written
        os.fchmod(fd, 0o600)
        os.ftruncate(fd, 0)
        os.write(fd, key.encode("utf-8"))
        written = True

    try:
        yield write
    finally:
        os.close(fd)
        if created and not written:
            os.unlink(path)


def create_keypair(client, out, args):
    public_key = _read(args.public_key, "public key file") if args.public_key else None
    body = create_body(args.name, public_key)
    if args.private_key:
        with private_key_file(args.private_key) as write:
            keypair = client.post(session.COMPUTE, "/os-keypairs", body)["keypair"]
            if keypair.get("private_key"):
                write(keypair.pop("private_key"))
        out.show(keypair)
        return
    keypair = client.post(session.COMPUTE, "/os-keypairs", body)["keypair"]
    private_key = keypair.get("private_key")
    if private_key and out.format != "json":
        out.text(private_key.rstrip("\n"))      # shown once, as nova keypair-add does
    else:
        out.show(keypair)


def list_keypairs(client, out, args):
    wrapped = client.collect(session.COMPUTE, "/os-keypairs", "keypairs")
    out.list(COLUMNS, [entry.get("keypair", entry) for entry in wrapped])


def register(top, common):
    actions = parsing.resource(top, "keypair", "SSH key pairs for servers")
    parser = parsing.action(actions, "create", create_keypair,
                            "Create or import a key pair", common)
    parser.add_argument("name", metavar="NAME", help="name of the new key pair")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--public-key", metavar="FILE",
                        help="import this public key (default: generate a new pair)")
    source.add_argument("--private-key", metavar="FILE",
                        help="save the generated private key here (mode 0600) "
                             "instead of printing it")
    parsing.action(actions, "list", list_keypairs, "List key pairs", common)
