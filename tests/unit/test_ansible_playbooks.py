"""ansible/ without machines: every playbook parses against the example
inventory, and the systemd unit the `supervised` role writes (for hosts
with systemd, which the multi-node test cannot have) is one systemd accepts
and that restarts whatever ends it. The playbooks' behaviour is tested on
real machines in tests/functional/test_multinode.py."""
import configparser
import json
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANSIBLE = os.path.join(REPO, "ansible")
BIN = os.path.dirname(sys.executable)
PLAYBOOKS = ("site.yml", "add-compute.yml", "upgrade.yml", "stop.yml", "rabbitmq.yml")


def ansible_bin(name):
    path = os.path.join(BIN, name)
    if not os.path.exists(path):
        pytest.fail(f"{name} is missing: pip install -e '.[test]' installs ansible-core",
                    pytrace=False)
    return path


def env(tmp_path):
    return {**os.environ, "ANSIBLE_CONFIG": os.path.join(ANSIBLE, "ansible.cfg"),
            "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"), "ANSIBLE_NOCOLOR": "1"}


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_playbook_parses_with_the_example_inventory(playbook, tmp_path):
    result = subprocess.run(
        [ansible_bin("ansible-playbook"), "--syntax-check", "-i",
         os.path.join(ANSIBLE, "inventory", "example.ini"), os.path.join(ANSIBLE, playbook)],
        capture_output=True, text=True, env=env(tmp_path), cwd=ANSIBLE, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def render(tmp_path, template, variables):
    """The role's template rendered by Ansible itself, on localhost."""
    dest = tmp_path / os.path.basename(template).replace(".j2", "")
    args = [f"src={os.path.join(ANSIBLE, 'roles', 'supervised', 'templates', template)}",
            f"dest={dest}"]
    result = subprocess.run(
        [ansible_bin("ansible"), "localhost", "-c", "local", "-m", "template", "-a",
         " ".join(args),
         "-e", "@" + os.path.join(ANSIBLE, "roles", "supervised", "defaults", "main.yml"),
         "-e", json.dumps(variables)],
        capture_output=True, text=True, env=env(tmp_path), cwd=ANSIBLE, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return dest


def test_the_systemd_unit_restarts_always_and_systemd_accepts_it(tmp_path):
    unit = render(tmp_path, "unit.service.j2", {
        "supervised_name": "nova-lite-test", "supervised_command": "/bin/sleep 1000",
        "supervised_log": str(tmp_path / "test.log")})
    parsed = configparser.ConfigParser(strict=False, interpolation=None)
    parsed.read(unit)
    assert parsed["Service"]["Restart"] == "always"
    assert int(parsed["Service"]["RestartSec"]) <= 5
    assert parsed["Unit"]["StartLimitIntervalSec"] == "0"      # never gives up
    assert parsed["Service"]["ExecStart"] == "/bin/sleep 1000"
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is missing (Debian package systemd)")
    named = tmp_path / "nova-lite-test.service"
    os.rename(unit, named)
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", str(named)],
                            capture_output=True, text=True, timeout=60)
    errors = [line for line in (result.stdout + result.stderr).splitlines()
              if "nova-lite-test.service" in line]
    assert not errors, errors


def test_the_supervisord_program_restarts_whatever_ends_it(tmp_path):
    program = render(tmp_path, "program.conf.j2", {
        "supervised_name": "nova-lite-test", "supervised_command": "/bin/sleep 1000",
        "supervised_log": str(tmp_path / "test.log")})
    parsed = configparser.ConfigParser(interpolation=None)
    parsed.read(program)
    section = parsed["program:nova-lite-test"]
    assert section["autorestart"] == "true"
    assert section["command"] == "/bin/sleep 1000"
    assert section["stopasgroup"] == "true" and section["killasgroup"] == "true"


def run_directories(tmp_path, directories, check=False):
    """ansible/library/nova_lite_directories.py run by Ansible on localhost."""
    result = subprocess.run(
        [ansible_bin("ansible"), "localhost", "-c", "local", "-m", "nova_lite_directories",
         "-M", os.path.join(ANSIBLE, "library"), "-a",
         json.dumps({"directories": directories})] + (["--check"] if check else []),
        capture_output=True, text=True, env=env(tmp_path), cwd=ANSIBLE, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.split("=>", 1)[0]


def test_the_directories_module_makes_each_with_its_mode_and_changes_nothing_the_second_time(
        tmp_path):
    first, second = tmp_path / "a" / "b", tmp_path / "c"
    wanted = [{"path": str(first), "mode": "0750"}, {"path": str(second), "mode": "2775"}]
    assert "CHANGED" in run_directories(tmp_path, wanted, check=True)
    assert not first.exists()                                  # check mode changes nothing
    assert "CHANGED" in run_directories(tmp_path, wanted)
    assert (first.stat().st_mode & 0o7777, second.stat().st_mode & 0o7777) == (0o750, 0o2775)
    assert "SUCCESS" in run_directories(tmp_path, wanted)      # converged: not changed
    os.chmod(first, 0o777)
    assert "CHANGED" in run_directories(tmp_path, wanted)
    assert first.stat().st_mode & 0o7777 == 0o750
