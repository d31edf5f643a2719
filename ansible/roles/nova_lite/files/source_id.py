"""Print two ids of a nova-lite source tree (or wheel), one line:

- the source id: a hash of the files that make the installed package, so the
  deploy builds and installs again only when something of them changed;
- the requirements id: a hash of the files that declare its dependencies
  (setup.cfg, setup.py, pyproject.toml), so a new source whose requirements
  are the same reuses the dependencies' wheels built for an earlier one.

For a wheel both are the wheel's hash. Standard library only."""
import hashlib
import os
import sys

REQUIREMENTS = ("setup.cfg", "setup.py", "pyproject.toml")
PARTS = ("nova_lite", "migrations", "etc") + REQUIREMENTS


def main(source):
    if os.path.isfile(source):
        digest = hashlib.sha256()
        with open(source, "rb") as f:
            digest.update(f.read())
        print(digest.hexdigest()[:16], digest.hexdigest()[:16])
        return
    print(tree_id(source, PARTS), tree_id(source, REQUIREMENTS))


def tree_id(source, parts):
    digest = hashlib.sha256()
    for part in parts:
        top = os.path.join(source, part)
        if os.path.isfile(top):
            paths = [top]
        else:
            paths = []
            for root, dirs, files in os.walk(top):
                dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.endswith(".egg-info"))
                paths += [os.path.join(root, name) for name in sorted(files)
                          if not name.endswith((".pyc", ".pyo"))]
        for path in paths:
            digest.update(os.path.relpath(path, source).encode() + b"\0")
            with open(path, "rb") as f:
                digest.update(f.read())
            digest.update(b"\0")
    return digest.hexdigest()[:16]


if __name__ == "__main__":
    main(sys.argv[1])
