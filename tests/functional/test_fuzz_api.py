"""Property-based fuzzing of every route of every API (issue 15): whatever is
sent, as admin, as a member or without a token, the answer is below 500 and,
when it is an error, in the API's own JSON error format.

Routes and methods come from ``app.url_map``. Path variables are ids of
resources that exist, ids that look valid, or junk (NUL, control characters,
lone surrogates and invalid UTF-8 as percent-encoded bytes, very long text);
query strings, microversion and content-type headers and bodies (random JSON
with NaN, huge numbers and deep nesting, raw bytes, and bodies shaped like the
real requests, hand-written per endpoint below, with up to two parts
replaced) are drawn likewise. (hypothesis-jsonschema, which would derive them
from the request schemas, does not work with current hypothesis.) The in-process app
(Flask test client) serves them against the session's PostgreSQL, but on a
database of its own (``nl_fuzz``) and with the outbox relay paused, so that
what the fuzzer creates, changes and deletes (including the admin and demo
resources) never reaches the other tests or the bus. Reproducible:
derandomized, no example database. NOVA_LITE_FUZZ_EXAMPLES=n sends 3 x n
requests, NOVA_LITE_FUZZ_SEED=n explores other ones, NOVA_LITE_FUZZ_VERBOSE=1
prints the commonest 400 messages (is the fuzzer getting past the checks?).
"""
import collections
import json
import os
import re
import time
import urllib.parse
import uuid

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from nova_lite.conf import CONF
from tests.fixtures.credentials import ADMIN_PASSWORD, DEMO_PASSWORD, login_response

# Examples (each sent as admin, as demo and without a token): over 10,000 requests.
EXAMPLES = int(os.environ.get("NOVA_LITE_FUZZ_EXAMPLES", "3500"))
# A seed explores other requests (NOVA_LITE_FUZZ_SEED=n); by default the run is
# derandomized: the same requests every time.
SEED = int(os.environ["NOVA_LITE_FUZZ_SEED"]) if os.environ.get("NOVA_LITE_FUZZ_SEED") \
    else None
VARIABLE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
FUZZ_DB = "nl_fuzz"
PATCH_TYPE = "application/openstack-images-v2.1-json-patch"


@pytest.fixture(scope="module")
def fuzz_db(app, postgres):
    """The app switched to a database of its own, bootstrapped like the
    session's; the session's database and outbox relay are back afterwards."""
    from nova_lite.api.compute import flavor_cache
    from nova_lite.api.identity import tokens
    from nova_lite.api.relay import RELAY_KEY
    from nova_lite.db import bootstrap, migrate, revocations, session
    from nova_lite.rpc import outbox

    app.extensions[RELAY_KEY].stop()       # no fuzz outbox row reaches the bus
    postgres.create_database(FUZZ_DB)
    url = postgres.url(FUZZ_DB)
    migrate.sync(url)
    CONF.set_override("connection", url, group="database")
    session.reset()
    revocations.reset()                    # its listener follows the database
    try:
        bootstrap.ensure_user("admin", ADMIN_PASSWORD, "admin", "admin")
        bootstrap.ensure_user("demo", DEMO_PASSWORD, "demo", "member")
        bootstrap.ensure_default_flavors()
        flavor_cache.configure()
        yield url
    finally:
        CONF.set_override("connection", postgres.url(), group="database")
        session.reset()
        revocations.reset()
        flavor_cache.configure()
        tokens.configure_cache()
        relay = outbox.Relay(CONF.api.outbox_sweep_interval, linger=CONF.api.outbox_linger)
        app.extensions[RELAY_KEY] = relay.start()


def _login(client, user, password):
    response = login_response(client, user, password, user)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.headers["X-Subject-Token"], response.json["token"]


def _made(response, *keys):
    assert response.status_code < 300, response.get_data(as_text=True)
    value = response.json
    for key in keys:
        value = value[key]
    return value


@pytest.fixture(scope="module")
def world(app, fuzz_db):
    """Tokens and ids of real resources in the fuzz database."""
    client = app.test_client()
    admin_token, admin = _login(client, "admin", ADMIN_PASSWORD)
    demo_token, demo = _login(client, "demo", DEMO_PASSWORD)
    a = {"X-Auth-Token": admin_token}
    d = {"X-Auth-Token": demo_token}
    ids = collections.defaultdict(list)
    ids["project_id"] += [admin["project"]["id"], demo["project"]["id"]]
    ids["user_id"] += [admin["user"]["id"], demo["user"]["id"]]
    ids["flavor_id"] += ["1", "2"]
    net = _made(client.post("/network/v2.0/networks", headers=a, json={
        "network": {"name": "fuzz-net", "shared": True}}), "network", "id")
    subnet = _made(client.post("/network/v2.0/subnets", headers=a, json={"subnet": {
        "network_id": net, "cidr": "10.77.0.0/24", "ip_version": 4}}), "subnet", "id")
    ext = _made(client.post("/network/v2.0/networks", headers=a, json={
        "network": {"name": "fuzz-ext", "router:external": True}}), "network", "id")
    _made(client.post("/network/v2.0/subnets", headers=a, json={"subnet": {
        "network_id": ext, "cidr": "172.31.77.0/24", "ip_version": 4}}), "subnet")
    port = _made(client.post("/network/v2.0/ports", headers=d, json={
        "port": {"network_id": net}}), "port", "id")
    group = _made(client.post("/network/v2.0/security-groups", headers=d, json={
        "security_group": {"name": "fuzz-sg"}}), "security_group", "id")
    rule = _made(client.post("/network/v2.0/security-group-rules", headers=d, json={
        "security_group_rule": {"security_group_id": group, "direction": "ingress",
                                "protocol": "tcp", "port_range_min": 22,
                                "port_range_max": 22}}), "security_group_rule", "id")
    image = _made(client.post("/image/v2/images", headers=a, json={
        "name": "fuzz-img", "disk_format": "qcow2", "container_format": "bare",
        "visibility": "public"}), "id")
    upload = client.put(f"/image/v2/images/{image}/file", data=b"\0" * 1024,
                        headers={**a, "Content-Type": "application/octet-stream"})
    assert upload.status_code == 204
    server = _made(client.post("/compute/v2.1/servers", headers=d, json={"server": {
        "name": "fuzz-vm", "imageRef": image, "flavorRef": "1",
        "networks": [{"uuid": net}]}}), "server", "id")
    _made(client.post("/compute/v2.1/os-keypairs", headers=d, json={
        "keypair": {"name": "fuzz-kp"}}), "keypair")
    fip = _made(client.post("/network/v2.0/floatingips", headers=d, json={
        "floatingip": {"floating_network_id": ext}}), "floatingip", "id")
    ids["network_id"] += [net, ext]
    ids["subnet_id"].append(subnet)
    ids["port_id"].append(port)
    ids["group_id"].append(group)
    ids["rule_id"].append(rule)
    ids["image_id"].append(image)
    ids["server_id"].append(server)
    ids["name"].append("fuzz-kp")
    ids["floating_ip_id"].append(fip)
    ids["alias"] += ["security-group", "external-net"]
    ids["request_id"].append("req-" + str(uuid.uuid4()))
    return {"tokens": {"admin": admin_token, "demo": demo_token, "none": None},
            "ids": dict(ids)}


# -- strategies ----------------------------------------------------------------

CLEAN_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=20)
NASTY_TEXT = st.sampled_from([
    "\x00", "a\x00b", "\n", "\x7f", "%", "%%", "..", "../..", "'", '"', "\\",
    "a" * 5000, "é", "\U0001F600", " ", "", "-1", "0", "99999999999999999999",
    "1e999", "NaN", "null", "true", "[]", "{}", "*", "?", "#", "'; DROP TABLE x;--",
])
PERCENT = st.sampled_from(["%00", "%ff", "%ed%a0%80", "%c3", "%0a", "%7f", "%25",
                           "%2f", "%e2%82", "%f4%90%80%80"])


def segment_strategy(real):
    """A path segment, percent-encoded as a client sends it."""
    text = st.one_of(
        CLEAN_TEXT,
        st.text(max_size=40),
        NASTY_TEXT,
        st.uuids().map(str),
        st.integers(min_value=-2**70, max_value=2**70).map(str),
    ).map(lambda s: urllib.parse.quote(s.encode("utf-8", "surrogatepass"), safe=""))
    junk = st.lists(PERCENT | st.sampled_from(["a", "1", "-"]), min_size=1,
                    max_size=4).map("".join)
    options = [text, junk]
    if real:                    # half the time a resource that exists
        options = [st.sampled_from(real)] * 2 + options
    return st.one_of(*options)


QUERY_KEYS = ["name", "limit", "marker", "status", "all_tenants", "sort_key",
              "sort_dir", "changes-since", "user_id", "fields", "tenant_id",
              "project_id", "id", "image", "flavor", "host", "deleted", "visibility",
              "network_id", "device_id", "shared", "router:external", "member_status",
              "minDisk", "minRam", "is_public", "reservation_id", "ip", "cidr",
              "fixed_ips", "security_group_id", "tag", "os_hidden", "page_reverse"]


def query_strategy(real_ids):
    value = st.one_of(CLEAN_TEXT, CLEAN_TEXT, NASTY_TEXT, st.sampled_from(real_ids),
                      st.integers(min_value=-2**65, max_value=2**65).map(str),
                      st.sampled_from(["true", "false", "1", "0", "asc", "desc",
                                       "2020-01-01T00:00:00Z", "ACTIVE", "name"]))
    pair = st.tuples(st.sampled_from(QUERY_KEYS) | CLEAN_TEXT,
                     value.map(lambda s: urllib.parse.quote(
                         s.encode("utf-8", "surrogatepass"), safe=""))
                     | value.map(lambda s: urllib.parse.quote(
                         s.encode("utf-8", "surrogatepass"), safe=""))
                     | PERCENT)
    return st.one_of(st.just(""), st.lists(pair, min_size=1, max_size=4).map(
        lambda pairs: "&".join(f"{urllib.parse.quote(k.encode('utf-8', 'surrogatepass'))}"
                               f"={v}" for k, v in pairs)))


HEADERS = st.fixed_dictionaries({}, optional={
    "OpenStack-API-Version": st.sampled_from([
        "compute 2.1", "compute latest", "compute 2.99", "compute 3.0", "compute x",
        "compute 2.1, compute 2.2", "volume 3.0", "compute ", "compute 02.1"]),
    "X-OpenStack-Nova-API-Version": st.sampled_from(["2.1", "2.0", "latest", "abc",
                                                     "1.1", "2.1000"]),
    "Content-Type": st.sampled_from([
        "application/json", PATCH_TYPE, "application/octet-stream", "text/plain",
        "application/json; charset=latin-1", "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded", "", "\u00e9"]),
    "Accept": st.sampled_from(["application/json", "text/html", "*/*", "x"]),
    "X-Subject-Token": CLEAN_TEXT | st.sampled_from(["", "gAAAA", "a\x00b"]),
    "X-Auth-Token": st.sampled_from(["", "gAAAA", "x" * 300, "\x00", "\u00e9"]),
})

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12)

DEEP = st.sampled_from([65, 200, 1000, 100_000]).flatmap(lambda n: st.sampled_from([
    "[" * n + "]" * n, '{"a":' * n + "1" + "}" * n, "[" * n, '{"server": ' + "[" * n]))

RAW = st.one_of(
    st.binary(max_size=64).map(lambda b: b),
    st.sampled_from([b"NaN", b"[Infinity]", b'{"a": -Infinity}', b"1e999",
                     b"[1" + b"0" * 5000 + b"]", b'"\\u0000"', b'["\\ud800"]',
                     b'{"\\udfff": 1}', b"\xff\xfe{}", b"{", b"", b"null", b"[]",
                     b'{"a": 1, "a": 2}', b" " * 1000]),
)


def templates(ids):
    """Request bodies shaped like the real ones, by endpoint."""
    image = ids["image_id"][0]
    net = ids["network_id"][0]
    group = ids["group_id"][0]
    login = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "nobody", "domain": {"name": "Default"}, "password": "wrong"}}},
        "scope": {"project": {"name": "demo", "domain": {"name": "Default"}}}}}
    return {
        "identity.issue_token": [login, {"auth": {"identity": {
            "methods": ["token"], "token": {"id": "gAAAAA"}}, "scope": "unscoped"}}],
        "compute.create_flavor": [{"flavor": {"name": "fz", "ram": 64, "vcpus": 1,
                                              "disk": 1, "id": "fz", "swap": 0,
                                              "os-flavor-access:is_public": False}}],
        "compute.flavor_action": [{"addTenantAccess": {"tenant": ids["project_id"][1]}},
                                  {"removeTenantAccess": {"tenant": ids["project_id"][1]}}],
        "compute.create_keypair": [{"keypair": {"name": "fz", "public_key":
                                                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"
                                                "O6W7J3sUoMI1nQ9gq6rZlvAvHNZ8T+kp7zqF2Q"
                                                "S4Vv0 x"}}],
        "compute.create_server": [{"server": {
            "name": "fz", "imageRef": image, "flavorRef": "1",
            "networks": [{"uuid": net, "fixed_ip": "10.77.0.50"}],
            "metadata": {"k": "v"}, "user_data": "aGk=", "key_name": "fuzz-kp",
            "security_groups": [{"name": "default"}], "min_count": 1, "max_count": 1,
            "availability_zone": "nova", "accessIPv4": "1.2.3.4"}}],
        "compute.update_server": [{"server": {"name": "fz", "accessIPv6": "::1"}}],
        "compute.server_action": [
            {"os-stop": None}, {"os-start": None}, {"reboot": {"type": "HARD"}},
            {"changePassword": {"adminPass": "x"}}, {"rebuild": {"imageRef": image}},
            {"resize": {"flavorRef": "2"}}, {"confirmResize": None},
            {"addSecurityGroup": {"name": "fuzz-sg"}},
            {"removeSecurityGroup": {"name": "fuzz-sg"}},
            {"addFloatingIp": {"address": "172.31.77.9"}}, {"createImage": {"name": "x"}},
            {"os-getConsoleOutput": {"length": 10}}, {"lock": None}, {"pause": None},
            {"suspend": None}, {"unshelve": None}, {"createBackup": {"name": "b"}}],
        "compute.create_floating_ip": [{"pool": "fuzz-ext"}],
        "compute.create_os_security_group": [{"security_group": {"name": "fz",
                                                                 "description": "d"}}],
        "compute.create_os_security_group_rule": [{"security_group_rule": {
            "parent_group_id": group, "ip_protocol": "tcp", "from_port": 1,
            "to_port": 65535, "cidr": "0.0.0.0/0", "group_id": None}}],
        "image.create_image": [{"name": "fz", "disk_format": "qcow2",
                                "container_format": "bare", "visibility": "shared",
                                "tags": ["a"], "min_disk": 0, "min_ram": 0,
                                "protected": False, "id": str(uuid.uuid4()), "x": "y"}],
        "image.update_image": [[{"op": "replace", "path": "/name", "value": "x"},
                                {"op": "add", "path": "/p", "value": "v"},
                                {"op": "remove", "path": "/p"}]],
        "network.create_network": [{"network": {"name": "fz", "shared": False,
                                                "admin_state_up": True, "mtu": 1400,
                                                "router:external": False}}],
        "network.update_network": [{"network": {"name": "fz", "shared": True}}],
        "network.create_subnet": [{"subnet": {
            "network_id": net, "cidr": "10.78.0.0/24", "ip_version": 4,
            "gateway_ip": "10.78.0.1", "enable_dhcp": True,
            "allocation_pools": [{"start": "10.78.0.10", "end": "10.78.0.20"}],
            "dns_nameservers": ["8.8.8.8"], "host_routes": [
                {"destination": "0.0.0.0/0", "nexthop": "10.78.0.1"}]}}],
        "network.update_subnet": [{"subnet": {"name": "fz", "gateway_ip": None}}],
        "network.create_port": [{"port": {
            "network_id": net, "name": "fz", "fixed_ips": [
                {"subnet_id": ids["subnet_id"][0], "ip_address": "10.77.0.60"}],
            "security_groups": [group], "device_id": "x", "device_owner": "compute:nova",
            "mac_address": "fa:16:3e:00:00:01", "port_security_enabled": True}}],
        "network.update_port": [{"port": {"name": "fz", "security_groups": []}}],
        "network.create_floatingip": [{"floatingip": {
            "floating_network_id": ids["network_id"][1], "port_id": ids["port_id"][0],
            "floating_ip_address": "172.31.77.33"}}],
        "network.update_floatingip": [{"floatingip": {"port_id": None}}],
        "network.create_security_group": [{"security_group": {"name": "fz",
                                                              "description": "d"}}],
        "network.update_security_group": [{"security_group": {"name": "fz2"}}],
        "network.create_security_group_rule": [{"security_group_rule": {
            "security_group_id": group, "direction": "egress", "ethertype": "IPv6",
            "protocol": "icmp", "port_range_min": 8, "port_range_max": 0,
            "remote_ip_prefix": "::/0", "remote_group_id": group}}],
    }


def _leaves(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, path + (index,))
    yield path


def _replace(value, path, new):
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replace(value[path[0]], path[1:], new)
    return copy


@st.composite
def shaped_body(draw, shapes):
    """A real-looking body with at most two parts replaced by junk."""
    body = draw(st.sampled_from(shapes))
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2]))):
        paths = list(_leaves(body))
        path = draw(st.sampled_from(paths))
        new = draw(st.one_of(JSON, NASTY_TEXT, st.integers(min_value=-2**80,
                                                           max_value=2**80)))
        body = _replace(body, path, new)
    return json.dumps(body, allow_nan=True).encode()


def body_strategy(endpoint, shapes):
    options = [st.none(), JSON.map(lambda v: json.dumps(v, allow_nan=True).encode()),
               DEEP.map(str.encode), RAW]
    if shapes:
        options = [shaped_body(shapes)] * 3 + options
    return st.one_of(*options)


# -- checks --------------------------------------------------------------------

def error_format_problem(path, status, response):
    """None if an error response is in its API's format, else what is wrong."""
    if "json" not in (response.content_type or ""):
        return f"content type {response.content_type!r}"
    try:
        body = json.loads(response.get_data())
    except ValueError:
        return "body is not JSON"
    if path.startswith("/identity"):
        ok = isinstance(body.get("error"), dict) and body["error"].get("code") == status
    elif path.startswith("/network"):
        error = body.get("NeutronError")
        ok = isinstance(error, dict) and {"type", "message"} <= set(error)
    else:
        ok = (isinstance(body, dict) and len(body) == 1 and
              isinstance(next(iter(body.values())), dict) and
              next(iter(body.values())).get("code") == status and
              "message" in next(iter(body.values())))
    return None if ok else f"error body {body!r:.200}"


def build_environ(method, path, query, headers, body):
    """The WSGI environ a server would make: the path percent-decoded, header
    values as the latin-1 of their UTF-8 bytes."""
    environ = EnvironBuilder(path="/", method=method, data=body).get_environ()
    environ.pop("CONTENT_TYPE", None)
    environ["PATH_INFO"] = urllib.parse.unquote_to_bytes(path).decode("latin-1")
    environ["QUERY_STRING"] = query
    environ["REQUEST_URI"] = environ["RAW_URI"] = path + ("?" + query if query else "")
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        if key != "CONTENT_TYPE":
            key = "HTTP_" + key
        environ[key] = value.encode("utf-8", "surrogatepass").decode("latin-1")
    return environ


def test_no_input_makes_the_api_fail(app, world):
    client = app.test_client()
    ids = world["ids"]
    all_ids = sorted({i for values in ids.values() for i in values})
    shapes = templates(ids)
    routes = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((rule, method))
    assert len(routes) > 90
    statuses = collections.Counter()
    reasons = collections.Counter()
    failures = {}
    sent = [0]

    @st.composite
    def requests(draw):
        rule, method = draw(st.sampled_from(routes))
        values = {arg: draw(segment_strategy(ids.get(arg) or all_ids))
                  for arg in rule.arguments}
        path = VARIABLE.sub(lambda match: values[match.group(1)], rule.rule)
        query = draw(query_strategy(all_ids))
        headers = draw(HEADERS)
        body = draw(body_strategy(rule.endpoint, shapes.get(rule.endpoint)))
        return rule, method, path, query, headers, body

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=SEED is None,
              database=None, suppress_health_check=list(HealthCheck))
    @given(requests())
    @seed(SEED or 0)
    def run(request):
        rule, method, path, query, headers, body = request
        for who, token in world["tokens"].items():
            sent_headers = dict(headers)
            if token:
                sent_headers["X-Auth-Token"] = token     # else none or a junk one
            environ = build_environ(method, path, query, sent_headers, body)
            response = client.open(Request(environ))
            sent[0] += 1
            status = response.status_code
            statuses[status] += 1
            if status == 400 and os.environ.get("NOVA_LITE_FUZZ_VERBOSE"):
                reasons[response.get_data(as_text=True)[:90]] += 1
            problem = None
            if status >= 500:
                problem = f"{status} {response.get_data()[:300]!r}"
            elif status >= 400:
                problem = error_format_problem(path, status, response)
            if problem:
                key = (rule.rule, method, status)
                failures.setdefault(key, (who, path[:200], query[:200], headers,
                                          (body or b"")[:200], problem))

    started = time.monotonic()
    run()
    print(f"\nfuzz: {sent[0]} requests over {len(routes)} routes in "
          f"{time.monotonic() - started:.0f} s; statuses "
          f"{dict(sorted(statuses.items()))}")
    for reason, count in reasons.most_common(25):
        print(count, reason)
    assert sent[0] >= 3 * EXAMPLES
    assert not failures, "\n".join(f"{k}: {v}" for k, v in failures.items())
