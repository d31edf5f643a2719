"""The flood's HTTP: one-off setup calls (login, the image; httpx) and the hot
paths (create, delete, list; aiohttp, one ClientSession whose connector holds
at most ``connections`` keep-alive connections that every client shares).

A client is a coroutine that sends its next request when the last is
answered (closed_loop), or requests start at a fixed rate (open_loop)."""
import asyncio
import contextlib
import datetime
import json
import os
import resource
import time

import aiohttp
import httpx

from flood_stats import latency_ms

RETRIES = 3
SERVERS = "/compute/v2.1/servers"

# A keep-alive connection the server closed just as a request went out fails
# with one of these before the server read the request; clients retry them.
# (A create is retried only after checking that its server does not exist.)
# Timeouts (aiohttp's are TimeoutErrors, some also ClientConnectionErrors)
# are caught first and counted as errors, never retried.
CONNECTION_ERRORS = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError)


# -- setup (once per run) -----------------------------------------------------------------
def login(url, user, password, project, expiry=False):
    """A project-scoped token and the project's id (and, with ``expiry``, the
    seconds the token has left by the server's clock)."""
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
    response = httpx.post(url + "/identity/v3/auth/tokens", json=body, timeout=30)
    response.raise_for_status()
    token = response.json()["token"]
    found = response.headers["X-Subject-Token"], token["project"]["id"]
    if not expiry:
        return found
    left = (_utc(token["expires_at"]) - _utc(token["issued_at"])).total_seconds()
    return (*found, left)


def _utc(stamp):
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


class Auth:
    """The clients' token, renewed as keystoneauth renews it: shortly before
    it expires, and at once when the API answers 401 (a token revoked or
    expired early). A run longer than a token's life (an hour by default:
    [identity] token_expiration) keeps going; before this, every request
    after the first hour of a million-server run failed with 401."""
    MARGIN = 300.0          # renew this long before the token expires

    def __init__(self, url, user, password, project):
        self._credentials = (url, user, password, project)
        self._lock = asyncio.Lock()
        self.renewals = 0
        self._login()

    def _login(self):
        self.token, self.project_id, left = login(*self._credentials, expiry=True)
        self._renew_at = time.monotonic() + max(left - self.MARGIN, left / 2)

    async def current(self):
        if time.monotonic() >= self._renew_at:
            await self.renew(self.token)
        return self.token

    async def renew(self, stale):
        """A new token, unless another client already replaced ``stale``. A
        login that fails (the API or its database restarting) is tried again
        with backoff for up to a minute; then the error is the request's."""
        async with self._lock:
            if self.token == stale:
                for delay in (0.5, 1, 2, 4, 8, 15, 30, None):
                    try:
                        await asyncio.get_running_loop().run_in_executor(None, self._login)
                        break
                    except (httpx.HTTPError, KeyError, ValueError) as exc:
                        if delay is None:
                            raise RuntimeError(f"token renewal failed: {exc}") from exc
                        await asyncio.sleep(delay)
                self.renewals += 1


def ensure_image(url, admin_token):
    """A small public image to boot from (found by name, else uploaded)."""
    headers = {"X-Auth-Token": admin_token}
    with httpx.Client(base_url=url + "/image/v2", headers=headers, timeout=60) as http:
        found = http.get("/images", params={"name": "flood-tiny"}).json().get("images", [])
        active = [i for i in found if i["status"] == "active"]
        if active:
            return active[0]["id"]
        image = http.post("/images", json={"name": "flood-tiny", "disk_format": "qcow2",
                                           "container_format": "bare",
                                           "visibility": "public"})
        image.raise_for_status()
        image_id = image.json()["id"]
        http.put(f"/images/{image_id}/file", content=b"\0" * 65536,
                 headers={"Content-Type": "application/octet-stream"}).raise_for_status()
        return image_id


def ensure_quota(url, admin_token, project_id, limit):
    """Set the flood project's quotas (as admin, as ``openstack quota set``
    would) so that a flood is never refused by the defaults (10 servers):
    ``limit`` servers and ports, 64 cores and 64 GiB of RAM per server at most
    (RAM capped at what a limit can hold), key pairs and metadata items; -1
    for every one makes them unlimited. Returns the limits set."""
    cap = 2**31 - 1
    scaled = (lambda n: -1 if limit < 0 else min(cap, limit * n))
    compute = {"instances": scaled(1), "cores": scaled(64), "ram": scaled(65536)}
    network = {"port": scaled(1), "network": -1 if limit < 0 else max(limit, 100),
               "subnet": -1 if limit < 0 else max(limit, 100)}
    headers = {"X-Auth-Token": admin_token}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        http.put(f"/compute/v2.1/os-quota-sets/{project_id}",
                 json={"quota_set": dict(compute, force=True)}).raise_for_status()
        http.put(f"{NETWORKING}/quotas/{project_id}",
                 json={"quota": network}).raise_for_status()
    return {**compute, **network}


def make_server_groups(url, admin_token, token, project_id, count, size, prefix):
    """``count`` anti-affinity server groups of the project (its
    server_groups quota unlimited and server_group_members ``size``, as
    admin); their ids."""
    with httpx.Client(base_url=url, timeout=60) as http:
        http.put(f"/compute/v2.1/os-quota-sets/{project_id}",
                 headers={"X-Auth-Token": admin_token},
                 json={"quota_set": {"server_groups": -1,
                                     "server_group_members": size,
                                     "force": True}}).raise_for_status()
        ids = []
        for n in range(count):
            made = http.post("/compute/v2.1/os-server-groups",
                             headers={"X-Auth-Token": token},
                             json={"server_group": {"name": f"{prefix}-{n}",
                                                    "policies": ["anti-affinity"]}})
            made.raise_for_status()
            ids.append(made.json()["server_group"]["id"])
    return ids


DEFAULT_CIDR = "10.128.0.0/16"
NETWORKING = "/network/v2.0"


def network_name(cidr):
    """The flood's network for ``cidr``: one per subnet range (subnets never
    overlap, in any project, so a network of another range is another one)."""
    return "flood-net-" + cidr.replace("/", "_")


def ensure_network(url, token, project_id, cidr=DEFAULT_CIDR, *, admin_token):
    """The project's flood network with one IPv4 subnet ``cidr`` (found by
    name with the project's ``token``, else made by the admin for the project,
    as ``openstack network create --project P`` and ``openstack subnet create
    --project P --subnet-range`` would: a subnet larger than [network]
    project_largest_subnet_prefixlen_v4, such as the default /16, is an
    admin's to make), and the project's 'default' security group (listing the
    groups makes it, with its rule naming itself, as Neutron does). Returns
    {network_id, subnet_id, cidr, addresses, security_group_id}."""
    import ipaddress
    net = ipaddress.ip_network(cidr)
    name = network_name(str(net))
    headers = {"X-Auth-Token": token}
    admin = {"X-Auth-Token": admin_token}
    with httpx.Client(base_url=url + NETWORKING, headers=headers, timeout=120) as http:
        found = [n for n in http.get("/networks", params={"name": name}).json()["networks"]
                 if n.get("project_id", n.get("tenant_id")) == project_id]
        if found:
            network_id = found[0]["id"]
        else:
            made = http.post("/networks", headers=admin, json={"network": {
                "name": name, "project_id": project_id}})
            made.raise_for_status()
            network_id = made.json()["network"]["id"]
        subnets = [s for s in http.get("/subnets", params={"network_id": network_id})
                   .json()["subnets"] if s["cidr"] == str(net)]
        if subnets:
            subnet_id = subnets[0]["id"]
        else:
            made = http.post("/subnets", headers=admin, json={"subnet": {
                "name": name, "network_id": network_id, "ip_version": net.version,
                "cidr": str(net), "project_id": project_id}})
            if made.status_code >= 400:
                raise RuntimeError(f"subnet {net} on {name}: HTTP {made.status_code} "
                                   f"{made.text} (another subnet of the cloud overlaps "
                                   "it? choose another --cidr)")
            subnet_id = made.json()["subnet"]["id"]
        groups = http.get("/security-groups", params={"name": "default"})
        groups.raise_for_status()
        default = [g for g in groups.json()["security_groups"]
                   if g.get("project_id", g.get("tenant_id")) == project_id]
    return {"network_id": network_id, "subnet_id": subnet_id, "cidr": str(net),
            "name": name, "addresses": net.num_addresses - 3 if net.version == 4 else None,
            "security_group_id": default[0]["id"] if default else None}


def raise_nofile(wanted):
    """Raise this process's soft limit of open files to its hard limit (each
    connection is a descriptor); returns (soft, hard) as they are then."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        new = hard if hard != resource.RLIM_INFINITY else max(soft, wanted + 1024)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
            soft = new
        except (ValueError, OSError):
            pass
    return soft, hard


def session(url, auth, connections, request_timeout):
    """One aiohttp session for every client: ``connections`` keep-alive
    connections at most (closed by us after 60 s idle, before the API's 75 s).
    T to open a connection and T between reads of the answer, no limit on
    the whole; waiting for a turn on a connection is not timed out (see
    FairSession)."""
    connector = aiohttp.TCPConnector(limit=connections, limit_per_host=0,
                                     keepalive_timeout=60)
    timeout = aiohttp.ClientTimeout(total=None, connect=request_timeout,
                                    sock_connect=request_timeout,
                                    sock_read=request_timeout)
    return FairSession(aiohttp.ClientSession(base_url=url, connector=connector,
                                             timeout=timeout,
                                             skip_auto_headers=("User-Agent",)),
                       connections, auth)


class FairSession:
    """Clients take turns on the connections in the order they asked.

    aiohttp's connector lets a client that has just released a connection
    take it again for its next request before a waiting client runs, so with
    more clients than connections the first ones keep the connections and
    the rest starve (at 10,000 clients on 1,000 connections, thousands waited
    the whole run and timed out). An asyncio.Semaphore is FIFO: a client that
    comes back queues behind those already waiting. The wait for a turn is
    part of a request's measured latency (its clock starts before it) but not
    of its timeout, which is the server's to meet, as for a client with a
    connection of its own."""

    def __init__(self, session, connections, auth):
        self.session = session
        self.turns = asyncio.Semaphore(connections)
        self.auth = auth

    @contextlib.asynccontextmanager
    async def request(self, method, url, **kwargs):
        async with self.turns:
            for attempt in range(2):
                token = await self.auth.current()
                async with self.session.request(method, url, headers={"X-Auth-Token": token},
                                                **kwargs) as response:
                    if response.status == 401 and attempt == 0:
                        await response.read()
                        await self.auth.renew(token)
                        continue
                    yield response
                    return

    def post(self, url, **kwargs):
        return self.request("POST", url, **kwargs)

    def delete(self, url, **kwargs):
        return self.request("DELETE", url, **kwargs)

    def get(self, url, **kwargs):
        return self.request("GET", url, **kwargs)

    async def close(self):
        await self.session.close()


# -- what happened --------------------------------------------------------------------------
RETRY_503 = 30             # a 503 is retried after its Retry-After, this many times
RETRY_AFTER_MAX = 30.0
# How long connection failures are retried, with backoff (the API restarting:
# keystoneauth's connect_retries); 0 keeps the flood's old three quick retries.
CONNECT_RETRY_SECONDS = 0.0


def retry_after(response):
    """Seconds a 503 asks to wait (its Retry-After, in seconds; 1 without)."""
    try:
        return min(max(float(response.headers.get("Retry-After", 1)), 0.0), RETRY_AFTER_MAX)
    except ValueError:
        return 1.0


class Recorder:
    def __init__(self):
        self.t0 = time.monotonic()
        self.creates = []        # (t_sent, latency, status, servers asked for): per request
        self.deletes = []        # (t_sent, latency, status): per server
        self.ids = []            # the id the API answered each accepted create request with
        self.accepted = 0        # servers accepted (a multi-create's 202 names only its first)
        self.errors = {}
        self.retries = {}
        self.answers = []        # (t, method, HTTP status) of every answer, retried ones too
        self.samples = []
        self.load_at_start = [round(x, 1) for x in os.getloadavg()]
        self.run = ""

    def error(self, what, count_only=False):
        """Count a failure; ``count_only`` ones (retried connection resets)
        are reported as retries, not errors."""
        table = self.retries if count_only else self.errors
        table[what] = table.get(what, 0) + 1


# -- requests -------------------------------------------------------------------------------
def servers_asked(body):
    """How many servers a create body asks for (max_count; 1 without)."""
    return int(body["server"].get("max_count", 1))


def first_name(body):
    """The name of the first server a create body makes: its name, or for a
    multi-create (max_count > 1) ``<name>-1`` (the API names them -1..-N,
    nova_lite/api/compute/server_create.py)."""
    name = body["server"]["name"]
    return name if servers_asked(body) == 1 else f"{name}-1"


async def _exists(exists, name):
    """``exists(name)`` in a thread; while the database cannot answer (it is
    restarting) ask again, for up to a minute; None if it never answered."""
    loop = asyncio.get_running_loop()
    for delay in (0, 0.5, 1, 2, 4, 8, 15, 30):
        await asyncio.sleep(delay)
        try:
            return await loop.run_in_executor(None, exists, name)
        except Exception:  # noqa: BLE001 - the database restarting
            continue
    return None


async def create(http, rec, body, exists):
    """POST one create request (``max_count`` servers, 1 without);
    ``exists(name)`` (blocking, run in a thread) says whether a create whose
    connection broke was made after all: the request's first server, whose
    row the API writes in the same transaction as all the others'. A 503 is
    sent again after its Retry-After (as keystoneauth does); a connection
    failure is retried (after checking) RETRIES times at once, or for
    CONNECT_RETRY_SECONDS with backoff when that is set (the fault mode)."""
    count = servers_asked(body)
    sent = time.monotonic()
    attempt = answered_503 = 0
    while True:
        try:
            async with http.post(SERVERS, json=body) as response:
                status = response.status
                data = await response.read()
                wait = retry_after(response) if status == 503 else 0
            rec.answers.append((time.monotonic() - rec.t0, "create", status))
            if status == 202:
                rec.ids.append(json.loads(data)["server"]["id"])
                rec.accepted += count
            elif status == 503 and answered_503 < RETRY_503:
                answered_503 += 1
                rec.error("create HTTP 503 (retried after Retry-After)", count_only=True)
                await asyncio.sleep(wait)
                continue
            else:
                rec.error(f"create HTTP {status}")
            break
        except TimeoutError:
            status = "timeout"
            rec.error("create timeout")
            break
        except CONNECTION_ERRORS as exc:
            status = type(exc).__name__
            found = await _exists(exists, first_name(body))
            if found:
                rec.ids.append(found)
                rec.accepted += count
                rec.error(f"create {status}, but it was created", count_only=True)
                status = 202
                break
            attempt += 1
            if not _retry_connection(attempt, sent):
                rec.error(f"create {status}")
                break
            rec.error(f"create {status} (retried)", count_only=True)
            await _backoff(attempt)
        except (aiohttp.ClientError, ValueError, KeyError, RuntimeError) as exc:
            status = type(exc).__name__
            rec.error(f"create {status}")
            break
    rec.creates.append((sent - rec.t0, time.monotonic() - sent, status, count))


def _retry_connection(attempt, sent):
    if CONNECT_RETRY_SECONDS:
        return time.monotonic() - sent < CONNECT_RETRY_SECONDS
    return attempt <= RETRIES


async def _backoff(attempt):
    if CONNECT_RETRY_SECONDS:
        await asyncio.sleep(min(0.25 * 2 ** (attempt - 1), 4.0))


async def delete(http, rec, server_id):
    sent = time.monotonic()
    attempt = answered_503 = 0
    while True:
        try:
            async with http.delete(f"{SERVERS}/{server_id}") as response:
                status = response.status
                await response.read()
                wait = retry_after(response) if status == 503 else 0
            rec.answers.append((time.monotonic() - rec.t0, "delete", status))
            if status == 503 and answered_503 < RETRY_503:
                answered_503 += 1
                rec.error("delete HTTP 503 (retried after Retry-After)", count_only=True)
                await asyncio.sleep(wait)
                continue
            if status not in (204, 404):
                rec.error(f"delete HTTP {status}")
            break
        except TimeoutError:
            status = "timeout"
            rec.error("delete timeout")
            break
        except CONNECTION_ERRORS as exc:      # a delete is idempotent: send it again
            status = type(exc).__name__
            attempt += 1
            if not _retry_connection(attempt, sent):
                rec.error(f"delete {status}")
                break
            rec.error(f"delete {status} (retried)", count_only=True)
            await _backoff(attempt)
        except (aiohttp.ClientError, RuntimeError) as exc:
            status = type(exc).__name__
            rec.error(f"delete {status}")
            break
    rec.deletes.append((sent - rec.t0, time.monotonic() - sent, status))


async def list_latency(http, samples):
    """GET /servers/detail?limit=1000, one at a time, with every server in place."""
    latencies, sizes, failures = [], [], 0
    for _ in range(samples):
        sent = time.monotonic()
        try:
            async with http.get(SERVERS + "/detail", params={"limit": 1000}) as response:
                status = response.status
                data = await response.read()
            if status == 200:
                latencies.append(time.monotonic() - sent)
                sizes.append(len(json.loads(data)["servers"]))
            else:
                failures += 1
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError):
            failures += 1
    lat = latency_ms(latencies)
    return {"requests": samples, "failures": failures, "servers_per_page": max(sizes or [0]),
            "latency_ms": {"p50": lat["p50"], "p99": lat["p99"], "max": lat["max"]}}


# -- loops ----------------------------------------------------------------------------------
async def closed_loop(count, clients, job):
    """``clients`` clients (at most ``count``) run job(0..count-1) between
    them, each sending its next when the last is answered."""
    counter = iter(range(count))

    async def client():
        for n in counter:
            await job(n)

    await asyncio.gather(*(client() for _ in range(min(clients, count))))


async def closed_loop_until(stop, clients, job):
    """``clients`` clients run job(0), job(1), ... until ``stop`` is set (each
    finishes the request it has in flight); returns how many were sent."""
    sent = [0]

    async def client():
        while not stop.is_set():
            n = sent[0]
            sent[0] += 1
            await job(n)

    await asyncio.gather(*(client() for _ in range(clients)))
    return sent[0]


async def open_loop(count, clients, rate, job):
    """Start one request every 1/rate s (at most ``clients`` in flight)."""
    limit = asyncio.Semaphore(clients)
    started = time.monotonic()
    tasks = []

    async def one(n):
        async with limit:
            await job(n)

    for n in range(count):
        delay = started + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(n)))
    await asyncio.gather(*tasks)

