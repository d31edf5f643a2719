"""Imports run one way, down the layers of doc/architecture.md ("Layers and
imports"), and services never import each other.

Every module of ``nova_lite`` is parsed with ``ast`` (nothing is imported);
every ``import x`` and ``from x import y`` counts, relative ones and those
inside functions (lazy imports) included. A module may import its own layer
and the layers below it; the services are one layer whose packages are
peers: each imports only its own package and the layers below. Two packages
have narrower rules of their own (``NARROW``). An import that breaks a rule
is an arrow: ``module -> imported (layer a -> layer b)``; the test lists them
all.
"""
import ast
import pathlib
import sys

PACKAGE = "nova_lite"
ROOT = pathlib.Path(__file__).resolve().parents[2] / PACKAGE

# (layer, its modules and packages), lowest first: a module belongs to the
# layer of the longest entry its name starts with.
LAYERS = (
    # The foundation, importing nothing of nova_lite but each other:
    # configuration, the version, the error classes every layer raises, and
    # logging set up from the configuration. The package's own __init__.
    ("conf", ("nova_lite", "nova_lite.conf", "nova_lite.version",
              "nova_lite.exception", "nova_lite.log")),
    # Shared vocabulary: instance states, the task table (objects/tasks.py,
    # read by the API, compute hosts, conductor and reconciler) and the build
    # payload's shape. Below db, not beside rpc: db's compare-and-set
    # transitions are written in these states (db/instances.py, db/claims.py, db/build_results.py), and
    # compute hosts, which never touch db, import them too.
    ("objects", ("nova_lite.objects",)),
    # State: PostgreSQL, its tables, sessions, migrations, password hashes.
    ("db", ("nova_lite.db",)),
    # Messaging: the outbox (rows in db) and the bus. May import objects;
    # objects never imports rpc.
    ("rpc", ("nova_lite.rpc",)),
    # The networking control plane (db, rpc casts) and host/, the data
    # plane on a compute host (see NARROW).
    ("network", ("nova_lite.network",)),
    # The services, peers that talk only through rpc: never one another.
    # cli is a client of the API over HTTP (see NARROW).
    ("services", ("nova_lite.api", "nova_lite.conductor", "nova_lite.scheduler",
                  "nova_lite.compute", "nova_lite.cli")),
    # Console scripts and what runs a service process (service.py: signals,
    # rpc servers, logging): wiring, imported by nothing.
    ("cmd", ("nova_lite.cmd", "nova_lite.service")),
)

RANK = {name: rank for rank, (name, _) in enumerate(LAYERS)}

# Packages whose imports are narrower than their layer's: {package: (what of
# nova_lite it may import, whether anything outside nova_lite must be the
# standard library, why)}.
NARROW = {
    "nova_lite.network.host": (
        ("nova_lite.conf", "nova_lite.network.host"), True,
        "runs on compute hosts: the standard library and nova_lite.conf only"),
    "nova_lite.compute": (
        ("nova_lite.conf", "nova_lite.objects", "nova_lite.rpc",
         "nova_lite.network.host", "nova_lite.compute"), False,
        "hosts have no database: never db, and of network only host/"),
    "nova_lite.cli": (
        ("nova_lite.version", "nova_lite.cli"), False,
        "talks to the API over HTTP only"),
}


def _within(name, prefix):
    return name == prefix or name.startswith(prefix + ".")


def _longest(name, prefixes):
    found = [p for p in prefixes if _within(name, p)]
    return max(found, key=len) if found else None


def layer_of(module):
    """(layer, label): the label names the service for a service module."""
    entry = _longest(module, [p for _, ps in LAYERS for p in ps])
    if entry is None:
        return None, None
    layer = next(name for name, ps in LAYERS if entry in ps)
    return layer, entry.rpartition(".")[2] if layer == "services" else layer


def modules(root=ROOT):
    """{dotted name: (path, is a package)} of every module under root."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = (PACKAGE,) + path.relative_to(root).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        found[".".join(parts)] = (path, is_package)
    return found


def imports(module, path, is_package, known):
    """Every name ``module`` imports, as dotted names (a ``from a import b``
    is a.b when b is a module of the package, else a)."""
    tree = ast.parse(path.read_text(), str(path))
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            for alias in node.names:
                name = f"{source}.{alias.name}"
                yield name if name in known else source


def arrows(root=ROOT):
    """Every import under root that breaks a rule, as
    "module -> imported (layer a -> layer b)", sorted."""
    known = modules(root)
    found = set()
    for module, (path, is_package) in known.items():
        src_layer, src_label = layer_of(module)
        if src_layer is None:
            found.add(f"{module} is in no layer: add it to LAYERS")
            continue
        narrow = _longest(module, NARROW)
        for target in imports(module, path, is_package, known):
            inside = _within(target, PACKAGE)
            dst_layer, dst_label = layer_of(target) if inside else (None, None)
            if narrow:
                allowed, stdlib_only, _ = NARROW[narrow]
                label = narrow.removeprefix(PACKAGE + ".")
                if inside and not _longest(target, allowed):
                    found.add(f"{module} -> {target} ({label} -> {dst_label})")
                    continue
                top = target.partition(".")[0]
                if not inside and stdlib_only and top not in sys.stdlib_module_names \
                        and top != "__future__":
                    found.add(f"{module} -> {target} ({label} -> not the standard "
                              "library)")
                    continue
            if not inside:
                continue
            if dst_layer is None:
                found.add(f"{module} -> {target} ({src_label} -> no layer)")
            elif RANK[dst_layer] > RANK[src_layer] or (
                    src_layer == dst_layer == "services" and src_label != dst_label):
                found.add(f"{module} -> {target} ({src_label} -> {dst_label})")
    return sorted(found)


def test_every_module_has_a_layer_and_the_table_names_real_modules():
    known = modules()
    assert [m for m in known if layer_of(m)[0] is None] == []
    entries = [p for _, ps in LAYERS for p in ps] + list(NARROW)
    assert [e for e in entries if e not in known] == []


def test_imports_run_down_the_layers_and_never_between_services():
    found = arrows()
    assert not found, "imports against the layers (doc/architecture.md):\n" \
        + "\n".join(found)


def test_arrows_are_found(tmp_path):
    """The checker itself: an import back up, one between services, a lazy
    relative one, and a third-party import in network/host are all caught."""
    root = tmp_path / PACKAGE
    files = {
        "__init__.py": "",
        "conf/__init__.py": "",
        "db/__init__.py": "",
        "db/bootstrap.py": "def f():\n    from ..api.identity import passwords\n",
        "api/__init__.py": "",
        "api/identity/__init__.py": "",
        "api/identity/passwords.py": "from nova_lite.db import bootstrap\n",
        "compute/__init__.py": "import nova_lite.conductor.manager\n",
        "conductor/__init__.py": "",
        "conductor/manager.py": "from nova_lite import objects\n",
        "objects/__init__.py": "",
        "network/__init__.py": "",
        "network/host/__init__.py": "import sqlalchemy\nfrom . import plug\n",
        "network/host/plug.py": "import os\nfrom nova_lite.conf import x\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    assert arrows(root) == [
        "nova_lite.compute -> nova_lite.conductor.manager (compute -> conductor)",
        "nova_lite.db.bootstrap -> nova_lite.api.identity.passwords (db -> api)",
        "nova_lite.network.host -> sqlalchemy (network.host -> not the standard library)",
    ]
