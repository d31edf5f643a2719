#!/usr/bin/python
"""Ansible module: several directories (state=directory) in one task.

ansible.builtin.file takes one path: a loop over N directories runs N
modules on the machine, each a Python start over SSH. This one makes sure
every directory of ``directories`` exists with its mode (and owner and group
when given), in one run, and reports changed when it created or changed any.
Parents are created as ``mkdir -p`` does (mode 0755, owned by root)."""
import grp
import os
import pwd

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: nova_lite_directories
short_description: Ensure several directories exist with their mode, owner and group
options:
  directories:
    description: [path, mode (octal string), owner and group (optional)] of each
    type: list
    elements: dict
    required: true
"""


def ensure(spec, check_mode):
    path = spec["path"]
    mode = int(str(spec["mode"]), 8)
    uid = pwd.getpwnam(spec["owner"]).pw_uid if spec.get("owner") else -1
    gid = grp.getgrnam(spec["group"]).gr_gid if spec.get("group") else -1
    changes = []
    if not os.path.isdir(path):
        if os.path.lexists(path):
            raise ValueError(f"{path} exists and is not a directory")
        changes.append("created")
        if check_mode:
            return changes
        os.makedirs(path, mode=0o755, exist_ok=True)
    st = os.stat(path)
    if st.st_mode & 0o7777 != mode:
        changes.append(f"mode {st.st_mode & 0o7777:04o} -> {mode:04o}")
        if not check_mode:
            os.chmod(path, mode)
    if (uid != -1 and st.st_uid != uid) or (gid != -1 and st.st_gid != gid):
        changes.append("owner")
        if not check_mode:
            os.chown(path, uid, gid)
    return changes


def main():
    module = AnsibleModule(argument_spec={"directories": {"type": "list", "elements": "dict",
                                                          "required": True}},
                           supports_check_mode=True)
    done = {}
    try:
        for spec in module.params["directories"]:
            changes = ensure(spec, module.check_mode)
            if changes:
                done[spec["path"]] = changes
    except (KeyError, ValueError, OSError) as exc:
        module.fail_json(msg=f"{type(exc).__name__}: {exc}", changed=bool(done), changes=done)
    module.exit_json(changed=bool(done), changes=done)


if __name__ == "__main__":
    main()
