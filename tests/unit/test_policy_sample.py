"""The sample policy file in etc/ is what oslopolicy-sample-generator makes of
the rules in code (nova_lite.api.policies)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_sample_policy_is_current(tmp_path):
    generator = os.path.join(os.path.dirname(sys.executable), "oslopolicy-sample-generator")
    out = tmp_path / "policy.yaml.sample"
    subprocess.run([generator, "--namespace", "nova_lite", "--output-file", str(out)],
                   check=True, capture_output=True)
    with open(os.path.join(ROOT, "etc", "nova-lite", "policy.yaml.sample")) as f:
        committed = f.read()
    assert out.read_text() == committed, (
        "etc/nova-lite/policy.yaml.sample is stale: run "
        "`oslopolicy-sample-generator --config-file etc/oslo-policy-generator/nova-lite.conf`")
