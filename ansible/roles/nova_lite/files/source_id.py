"""Print an id of a nova-lite source tree (or wheel): a hash of the files
that make the installed package, so the deploy builds and installs again only
when something of them changed. Standard library only."""
import hashlib
import os
import sys

PARTS = ("nova_lite", "migrations", "etc", "setup.cfg", "setup.py", "pyproject.toml")


def main(source):
    digest = hashlib.sha256()
    if os.path.isfile(source):
        with open(source, "rb") as f:
            digest.update(f.read())
        print(digest.hexdigest()[:16])
        return
    for part in PARTS:
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
    print(digest.hexdigest()[:16])


if __name__ == "__main__":
    main(sys.argv[1])
