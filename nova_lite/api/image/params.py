"""The query string of GET /image/v2/images, read into ``queries.Filters`` and a
sort order, with a 400 for anything malformed.

Filters: id, name, status, visibility (``all`` = no filter), owner, tag
(repeatable), protected, size_min, size_max, os_hidden, member_status (shared
images are not implemented, so only the default ``accepted``/``all`` pass),
and any other key ``k=v`` as a custom property filter, as Glance does.
Sorting: ``sort_key``/``sort_dir`` (each repeatable) or ``sort=k1:asc,k2``.
"""
import csv

import flask

from nova_lite import exception
from nova_lite.api.image import queries, schemas

PAGING = ("limit", "marker")
SORTING = ("sort", "sort_key", "sort_dir")
DIRECTIONS = ("asc", "desc")
UNSUPPORTED = ("created_at", "updated_at")


def text(key, value):
    if "\x00" in value:
        raise exception.Invalid(f"Invalid value for {key}: NUL characters are not allowed.")
    return value


def integer(key, value):
    try:
        number = int(value)
    except ValueError:
        raise exception.Invalid(f"{key} must be an integer, not {value!r}.") from None
    if number < 0:
        raise exception.Invalid(f"{key} must be >= 0.")
    return number


def _boolean(key, value):
    lowered = value.lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise exception.Invalid(f"{key} must be a boolean, not {value!r}.")


def _choice(key, value, choices):
    if value not in choices:
        raise exception.Invalid(f"Invalid {key} value: {value}. Expected one of "
                                f"{', '.join(choices)}.")
    return value


def _in_list(values):
    """Glance's ``in:`` operator: ``id=in:a,b`` or ``name=in:"x, y",z`` means any of."""
    found = []
    for value in values:
        if not value.startswith("in:"):
            found.append(value)
            continue
        for item in csv.reader([value[3:]], skipinitialspace=True):
            found.extend(v for v in item if v)
    return found


def filters(args=None):
    args = flask.request.args if args is None else args
    result = queries.Filters()
    for key in args:
        text("parameter name", key)
        values = [text(key, v) for v in args.getlist(key)]
        value = values[-1]
        if key in PAGING or key in SORTING:
            continue
        if key in UNSUPPORTED:
            raise exception.Invalid(f"Filtering on {key} is not supported.")
        if key == "id":
            result.ids = tuple(v.lower() for v in _in_list(values))
        elif key == "name":
            result.names = tuple(_in_list([value]))
        elif key == "status":
            result.statuses = (_choice(key, value, schemas.STATUSES),)
        elif key == "visibility":
            if value != "all":
                result.visibility = _choice(key, value, (*schemas.VISIBILITIES, "all"))
        elif key == "owner":
            result.owner = value
        elif key == "tag":
            result.tags = tuple(values)
        elif key == "protected":
            result.protected = _boolean(key, value)
        elif key in ("size_min", "size_max"):
            setattr(result, key, integer(key, value))
        elif key == "os_hidden":
            result.nothing = result.nothing or _boolean(key, value)
        elif key == "member_status":
            _choice(key, value, ("accepted", "pending", "rejected", "all"))
            result.nothing = result.nothing or value in ("pending", "rejected")
        else:
            result.properties[key] = value
    return result


def sort(args=None):
    """[(key, direction), ...] from the query string (default created_at desc)."""
    args = flask.request.args if args is None else args
    if "sort" in args and ("sort_key" in args or "sort_dir" in args):
        raise exception.Invalid("The sort parameter cannot be combined with "
                                "sort_key or sort_dir.")
    if "sort" in args:
        pairs = []
        for item in args["sort"].split(","):
            key, _, direction = item.strip().partition(":")
            pairs.append((key, direction or "desc"))
    else:
        keys = args.getlist("sort_key") or ["created_at"]
        directions = args.getlist("sort_dir") or ["desc"]
        if len(directions) == 1:
            directions = directions * len(keys)
        if len(directions) != len(keys):
            raise exception.Invalid("The number of sort_dir values must be one or "
                                    "match the number of sort_key values.")
        pairs = list(zip(keys, directions))
    for key, direction in pairs:
        _choice("sort_key", key, tuple(queries.SORT_KEYS))
        _choice("sort_dir", direction, DIRECTIONS)
    return pairs
