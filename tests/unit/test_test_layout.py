"""Tests share fixtures through tests/fixtures/, never by importing other test
modules: no module under tests/ imports a test module (tests.functional.test_*,
tests.unit.test_*) or a conftest module, from anywhere.

Shared helpers live in a module of tests/fixtures/ named for its concern;
shared pytest fixtures are defined in the conftest.py of the directory that
uses them, and test modules use them by name. Every module under tests/ is
parsed with ``ast`` (nothing is imported); every ``import x`` and ``from x
import y`` counts, relative ones and those inside functions included.
"""
import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]          # tests/
PACKAGE = "tests"
TEST_PACKAGES = ("tests.functional", "tests.unit")


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


def imported(module, path, is_package):
    """(line, names) for everything ``module`` imports; for ``from a import b``
    the names are a and a.b (b may be a module)."""
    tree = ast.parse(path.read_text(), str(path))
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, (alias.name,)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            for alias in node.names:
                yield node.lineno, (source, f"{source}.{alias.name}")


def forbidden(name):
    """Why importing ``name`` is not allowed, or None."""
    parts = name.split(".")
    if "conftest" in parts:
        return "a conftest module"
    for package in TEST_PACKAGES:
        prefix = package + "."
        if name.startswith(prefix) and name[len(prefix):].split(".")[0].startswith("test_"):
            return "a test module"
    return None


def offences(root=ROOT):
    """Every forbidden import under root, as "path:line imports name (why)", sorted."""
    found = set()
    for module, (path, is_package) in modules(root).items():
        for line, names in imported(module, path, is_package):
            for name in names:
                why = forbidden(name)
                if why:
                    found.add(f"{path.relative_to(root.parent)}:{line} imports {name} "
                              f"({why})")
                    break
    return sorted(found)


def test_no_module_imports_a_test_module_or_a_conftest():
    found = offences()
    assert not found, ("share helpers through tests/fixtures/ and fixtures through "
                       "conftest.py (used by name, never imported):\n" + "\n".join(found))


def test_offences_are_found(tmp_path):
    """The checker itself: absolute, relative, lazy and package-level imports of
    test modules and conftests are caught; tests.fixtures is fine."""
    root = tmp_path / PACKAGE
    files = {
        "__init__.py": "",
        "conftest.py": "from tests.fixtures.credentials import login\n",
        "fixtures/__init__.py": "",
        "fixtures/credentials.py": "def login(): pass\n",
        "fixtures/services.py": "def f():\n    from tests.conftest import X\n",
        "functional/__init__.py": "",
        "functional/conftest.py": "import tests.fixtures.credentials\n",
        "functional/test_a.py": "from tests.functional.test_b import helper\n",
        "functional/test_b.py": "from .conftest import CloudClient\n",
        "functional/test_c.py": "from tests import conftest\nfrom . import test_a\n",
        "functional/test_d.py": "import tests.unit.test_e\n",
        "unit/__init__.py": "",
        "unit/test_e.py": "from tests.fixtures import credentials\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    assert offences(root) == [
        "tests/fixtures/services.py:2 imports tests.conftest (a conftest module)",
        "tests/functional/test_a.py:1 imports tests.functional.test_b (a test module)",
        "tests/functional/test_b.py:1 imports tests.functional.conftest "
        "(a conftest module)",
        "tests/functional/test_c.py:1 imports tests.conftest (a conftest module)",
        "tests/functional/test_c.py:2 imports tests.functional.test_a (a test module)",
        "tests/functional/test_d.py:1 imports tests.unit.test_e (a test module)",
    ]
