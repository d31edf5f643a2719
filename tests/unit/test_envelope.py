import json

import pytest

from nova_lite.rpc import envelope


def test_round_trip_keeps_method_args_and_request_id():
    env = envelope.build("build_instance", {"instance_uuid": "u1"},
                         {"request_id": "req-1", "user_id": "a"})
    decoded = envelope.decode(envelope.encode(env))
    assert decoded["method"] == "build_instance"
    assert decoded["args"] == {"instance_uuid": "u1"}
    assert decoded["request_id"] == "req-1"
    assert decoded["version"] == envelope.VERSION
    assert decoded["message_id"] and decoded["sent_at"]


@pytest.mark.parametrize("body, reason", [
    (b"\xff\xfe", "not UTF-8"),
    (b"{not json", "not JSON"),
    (b"[1, 2]", "not a JSON object"),
    (json.dumps({"version": 99, "method": "x"}).encode(), "unsupported envelope version 99"),
    (json.dumps({"version": 1}).encode(), "no method"),
    (json.dumps({"version": 1, "method": "x", "args": [1]}).encode(), "args is not an object"),
])
def test_poison_bodies_say_what_is_wrong(body, reason):
    with pytest.raises(envelope.PoisonMessage, match=reason):
        envelope.decode(body)
