"""The sample config in etc/ is what oslo-config-generator makes of the options."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_sample_config_is_current(tmp_path):
    generator = os.path.join(os.path.dirname(sys.executable), "oslo-config-generator")
    out = tmp_path / "sample.conf"
    subprocess.run([generator, "--namespace", "nova_lite", "--wrap-width", "79",
                    "--output-file", str(out)], check=True)
    with open(os.path.join(ROOT, "etc", "nova-lite", "nova-lite.conf.sample")) as f:
        committed = f.read()
    assert out.read_text() == committed, (
        "etc/nova-lite/nova-lite.conf.sample is stale: run "
        "`oslo-config-generator --config-file etc/oslo-config-generator/nova-lite.conf`")
