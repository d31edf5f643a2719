"""Authentication and HTTP: a keystoneauth password session built from the
``OS_*`` settings, requests routed through the token's service catalog, and
every failure (HTTP error, unreachable host, missing setting) turned into a
``CliError`` with a clear message."""
import dataclasses

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import generic

from nova_lite.cli import errors
from nova_lite.version import __version__

COMPUTE = "compute"
IMAGE = "image"
NETWORK = "network"

# Headers every request to a service carries.
SERVICE_HEADERS = {
    COMPUTE: {"OpenStack-API-Version": "compute 2.1"},
}

_TRUE = ("1", "true", "yes", "on")


@dataclasses.dataclass
class AuthOptions:
    """What the ``OS_*`` variables / ``--os-*`` options say."""
    auth_url: str = None
    username: str = None
    password: str = None
    project_name: str = None
    project_id: str = None
    user_domain_name: str = None
    user_domain_id: str = None
    project_domain_name: str = None
    project_domain_id: str = None
    region_name: str = None
    interface: str = "public"
    cacert: str = None
    insecure: bool = False

    @classmethod
    def from_args(cls, args):
        values = {f.name: getattr(args, "os_" + f.name, None)
                  for f in dataclasses.fields(cls)}
        values["insecure"] = str(values["insecure"] or "").lower() in _TRUE
        values["interface"] = values["interface"] or "public"
        return cls(**values)


def missing_settings(opts):
    """Problems with the settings, as messages naming the variable to set."""
    if not opts.auth_url:
        return ["Missing OS_AUTH_URL: set it (or --os-auth-url) to the Identity v3 "
                "URL of your cloud, e.g. by running `source openrc`"]
    needed = [name for name, value in (("OS_USERNAME", opts.username),
                                       ("OS_PASSWORD", opts.password)) if not value]
    if not (opts.project_name or opts.project_id):
        needed.append("OS_PROJECT_NAME (or OS_PROJECT_ID)")
    if not needed:
        return []
    options = ", ".join("--os-" + n.split()[0][3:].lower().replace("_", "-")
                        for n in needed)
    return [f"Missing credentials: set {', '.join(needed)} (or {options})"]


def _domains(opts):
    """User and project domains, defaulting to the ``default`` domain as
    python-openstackclient does."""
    user = {"user_domain_name": opts.user_domain_name,
            "user_domain_id": opts.user_domain_id}
    if not any(user.values()):
        user["user_domain_id"] = "default"
    project = {"project_domain_name": opts.project_domain_name,
               "project_domain_id": opts.project_domain_id}
    if opts.project_name and not any(project.values()):
        project["project_domain_id"] = "default"
    return {k: v for k, v in {**user, **project}.items() if v}


class Client:
    """An authenticated session that speaks to services by catalog type."""

    def __init__(self, opts):
        problems = missing_settings(opts)
        if problems:
            raise errors.CliError(problems[0])
        self.opts = opts
        auth = generic.Password(
            auth_url=opts.auth_url, username=opts.username, password=opts.password,
            project_name=opts.project_name, project_id=opts.project_id,
            **_domains(opts))
        verify = False if opts.insecure else (opts.cacert or True)
        self._session = ks_session.Session(auth=auth, verify=verify,
                                           user_agent=f"nova-lite/{__version__}")
        self._endpoints = {}

    # -- catalog ----------------------------------------------------------

    def _filter(self, service):
        return {"service_type": service, "interface": self.opts.interface,
                "region_name": self.opts.region_name}

    def endpoint(self, service):
        """The catalog URL of ``service`` (authenticating on first use)."""
        if service not in self._endpoints:
            try:
                url = self._session.get_endpoint(**self._filter(service))
            except ks_exc.EndpointNotFound:
                url = None
            except ks_exc.ClientException as exc:
                raise self._auth_error(exc) from None
            if not url:
                region = (f" in region {self.opts.region_name}"
                          if self.opts.region_name else "")
                raise errors.CliError(
                    f"The service catalog has no {self.opts.interface} endpoint for "
                    f"service type '{service}'{region}")
            self._endpoints[service] = url
        return self._endpoints[service]

    def project_id(self):
        """The ID of the project the token is scoped to (authenticating on
        first use)."""
        try:
            return self._session.get_project_id()
        except ks_exc.ClientException as exc:
            raise self._auth_error(exc) from None

    def _auth_error(self, exc):
        """A ``CliError`` for a failure while getting a token."""
        if isinstance(exc, ks_exc.HttpError) and exc.response is not None:
            return errors.from_response(exc.response)
        reason = errors.connection_reason(str(exc))
        if reason or isinstance(exc, ks_exc.ConnectionError):
            return errors.CliError(
                f"Cannot connect to the Identity service at {self.opts.auth_url}: "
                f"{reason or exc}")
        if isinstance(exc, ks_exc.DiscoveryFailure):
            return errors.CliError(
                f"Cannot find the Identity v3 API at {self.opts.auth_url} (check "
                f"OS_AUTH_URL): {exc}")
        return errors.CliError(f"Authentication failed: {exc}")

    # -- requests ---------------------------------------------------------

    def request(self, service, method, path, headers=None, **kwargs):
        """Send ``method path`` (relative to the service's endpoint, or an
        absolute URL) and return the response; error statuses raise ``ApiError``."""
        endpoint = self.endpoint(service)
        all_headers = {**SERVICE_HEADERS.get(service, {}), **(headers or {})}
        try:
            response = self._session.request(
                path, method, endpoint_filter=self._filter(service),
                headers=all_headers, raise_exc=False, **kwargs)
        except ks_exc.ConnectionError as exc:
            raise errors.CliError(
                f"Cannot connect to the {service} service at {endpoint}: "
                f"{errors.connection_reason(str(exc)) or exc}") from None
        except ks_exc.ClientException as exc:      # re-authentication failed
            raise self._auth_error(exc) from None
        if response.status_code >= 400:
            raise errors.from_response(response)
        return response

    def get(self, service, path, **kwargs):
        return _json(self.request(service, "GET", path, **kwargs))

    def post(self, service, path, body, **kwargs):
        return _json(self.request(service, "POST", path, json=body, **kwargs))

    def delete(self, service, path):
        self.request(service, "DELETE", path)

    def get_or_none(self, service, path):
        """The JSON at ``path``, or ``None`` when the service says 404."""
        try:
            return self.get(service, path)
        except errors.ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def collect(self, service, path, key, params=None, follow=True):
        """All items of the collection ``key`` at ``path``, following the
        ``next`` links page by page unless ``follow`` is false."""
        items, url, seen = [], path, set()
        while url and url not in seen:
            seen.add(url)
            body = self.get(service, url, params=params)
            params = None                  # the next link carries the query
            page = body.get(key) or []
            items.extend(page)
            url = next_link(body, key) if follow and page else None
        return items


def _json(response):
    """The response's JSON body (``{}`` when empty); anything else is an error
    (a proxy's HTML page, say), not a crash."""
    if not response.content:
        return {}
    try:
        return response.json()
    except ValueError:
        kind = response.headers.get("Content-Type") or "an unknown content type"
        raise errors.CliError(f"Expected JSON from {response.url} but got {kind} "
                              f"(HTTP {response.status_code})") from None


def next_link(body, key):
    """The next page's URL in a list response: Nova's ``<key>_links`` with
    ``rel: next`` (absolute) or Glance's ``next`` (relative to the endpoint)."""
    for link in body.get(f"{key}_links") or []:
        if link.get("rel") == "next" and link.get("href"):
            return link["href"]
    return body.get("next")
