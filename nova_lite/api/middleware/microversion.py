"""Compute API microversions: read ``OpenStack-API-Version: compute 2.N`` (or the
legacy ``X-OpenStack-Nova-API-Version: 2.N``), check it against what we serve,
and echo it back with ``Vary``. We serve 2.1 to 2.100 ("latest" is 2.100);
views ask ``requested() >= (2, N)``; ``since`` and ``until`` bound a route's life."""
import functools
import re

import flask

from nova_lite import exception

MIN_VERSION = (2, 1)
MAX_VERSION = (2, 100)
_PATTERN = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")


def fmt(version):
    return f"{version[0]}.{version[1]}"


def parse(text):
    text = text.strip()
    if text.lower() == "latest":
        return MAX_VERSION
    match = _PATTERN.match(text)
    if not match:
        raise exception.Invalid(f"API Version String {text} is of invalid format. "
                                "Must be of format MajorNum.MinorNum.")
    return int(match.group(1)), int(match.group(2))


def _from_headers(headers):
    for value in headers.getlist("OpenStack-API-Version"):
        for item in value.split(","):
            parts = item.strip().split(None, 1)
            if len(parts) == 2 and parts[0].lower() == "compute":
                return parts[1]
    return headers.get("X-OpenStack-Nova-API-Version")


def before():
    if not flask.request.path.startswith("/compute/v2.1"):
        return
    text = _from_headers(flask.request.headers)
    version = MIN_VERSION if text is None else parse(text)
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise exception.NotAcceptable(
            f"Version {fmt(version)} is not supported by the API. Minimum is "
            f"{fmt(MIN_VERSION)} and maximum is {fmt(MAX_VERSION)}.")
    flask.g.api_version = version


def after(response):
    version = flask.g.get("api_version")
    if version is not None:
        response.headers["OpenStack-API-Version"] = f"compute {fmt(version)}"
        response.headers["X-OpenStack-Nova-API-Version"] = fmt(version)
        response.vary.add("OpenStack-API-Version")
        response.vary.add("X-OpenStack-Nova-API-Version")
    return response


def requested():
    return flask.g.get("api_version", MIN_VERSION)


def install(app):
    app.before_request(before)
    app.after_request(after)


def until(last):
    """Decorator: the view exists up to microversion ``last`` and is 404
    after it, as Nova's proxy APIs past 2.35."""
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if requested() > last:
                raise exception.NotFound("The resource could not be found.")
            return view(*args, **kwargs)
        return wrapper
    return decorator


def since(first):
    """Decorator: the view exists from microversion ``first`` on and is 404
    before it, as Nova's methods added by a microversion."""
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if requested() < first:
                raise exception.NotFound("The resource could not be found.")
            return view(*args, **kwargs)
        return wrapper
    return decorator
