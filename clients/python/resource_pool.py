"""Drop-in Python client of the DCP ``resource-pool`` service (the DBA inventory).

The functions below have the names and signatures of the seed's Python API
(``get_all_instance``, ``add_server``, ... ``del_database``) and return what the
seed says they return:

* the ``get_*`` functions return a tuple ``(result, code)``: ``result`` is a list
  of dicts or a dict (``None`` on error), ``code`` is ``0`` on success;
* the ``add_*`` / ``mod_*`` / ``del_*`` functions return the error code alone
  (an ``int``, ``0`` on success). The object the service answered with (the
  created or updated row, or for a delete ``{"servers": n, "instances": n,
  "databases": n}``) is kept and available as :func:`last_result`.

``**args`` are sent as they are, so ``model="my-module"`` (who is calling,
recorded in the service's audit log) and ``cascade=1`` (for ``del_server`` /
``del_instance``) are given as keyword arguments. Arguments whose value is
``None`` are left out. ``datetime.date`` / ``datetime.datetime`` values are sent
as ``YYYY-mm-dd`` / ``YYYY-mm-dd HH:MM:SS``.

Error codes (the seed only names 0; the others are the service's own)::

    0  success
    1  bad argument (missing, malformed, out of range or unknown key)
    2  not found
    3  duplicate (it already exists)
    4  in use: deleting it would orphan rows below it; pass cascade=1
    5  unavailable: the service, or its database, cannot be reached
    6  internal error, or an answer that is not the service's JSON envelope
    7  unauthenticated: no access token, or one the service does not accept (HTTP 401)
    8  forbidden: the token's roles do not allow this call (HTTP 403)

The seed's functions never raise on a transport problem: when the service
cannot be reached (connection refused, DNS failure, timeout) they return code
``5`` (and result ``None``); when the answer is not the service's JSON envelope
(for instance an HTML error page from a proxy) they return code ``6``. Why a
call failed is available as :func:`last_error` (the service's ``msg``, or a
description of the transport problem). ``last_error()``, ``last_result()`` and
``last_request_id()`` are kept per thread and describe the latest call made on
that thread.

Beyond the seed (extras of the service, not in the seed's API):
:func:`audit_log` and :func:`probe_instance`, both returning ``(result, code)``.

Configuration, read at call time:

* ``DCP_RESOURCE_POOL_URL``: base URL of the service (default
  ``http://127.0.0.1:8001``);
* ``DCP_RESOURCE_POOL_TOKEN``: the platform access token (a JWT from the
  platform's issuer, e.g. cloud-portal's ``POST /oauth/token``) sent as
  ``Authorization: Bearer <token>`` on every call; the module variable
  ``TOKEN``, when not ``None``, takes precedence (``""`` sends none). The
  service refuses a call without a valid token (code 7) and a call the token's
  roles do not allow (code 8): reads need the role viewer, writes and
  ``probe_instance`` operator (admin covers both). The module does not fetch or
  renew tokens: give it a fresh one when the old one expires;
* ``DCP_RESOURCE_POOL_TIMEOUT``: timeout of one call in seconds (default 10);
  the module variable ``TIMEOUT``, when set to a number, takes precedence.

Each call is ``POST <base>/api/<function>`` with a JSON object body; the answer
is ``{"code": int, "msg": str, "result": ...}``. Standard library only;
Python 3.9 or later.
"""

import datetime
import decimal
import ipaddress
import json
import os
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Optional, Tuple

__all__ = [
    # The seed's API.
    "get_all_instance",
    "get_all_server",
    "get_all_db",
    "get_instance",
    "get_database_by_name_instance",
    "get_server_by_ip",
    "add_server",
    "mod_server",
    "del_server",
    "add_instance",
    "mod_instance",
    "del_instance",
    "add_database",
    "mod_database",
    "del_database",
    # Beyond the seed.
    "audit_log",
    "probe_instance",
    "last_error",
    "last_result",
    "last_request_id",
    "base_url",
    "SUCCESS",
    "BAD_ARGUMENT",
    "NOT_FOUND",
    "DUPLICATE",
    "IN_USE",
    "UNAVAILABLE",
    "INTERNAL",
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "DEFAULT_URL",
    "DEFAULT_TIMEOUT",
    "TIMEOUT",
    "TOKEN",
]

SUCCESS = 0
BAD_ARGUMENT = 1
NOT_FOUND = 2
DUPLICATE = 3
IN_USE = 4
UNAVAILABLE = 5
INTERNAL = 6
UNAUTHENTICATED = 7
FORBIDDEN = 8

DEFAULT_URL = "http://127.0.0.1:8001"
DEFAULT_TIMEOUT = 10.0
URL_ENV = "DCP_RESOURCE_POOL_URL"
TIMEOUT_ENV = "DCP_RESOURCE_POOL_TIMEOUT"
TOKEN_ENV = "DCP_RESOURCE_POOL_TOKEN"

#: Timeout of one call in seconds; ``None`` means ``$DCP_RESOURCE_POOL_TIMEOUT``, else 10.
TIMEOUT: Optional[float] = None

#: Access token sent as ``Authorization: Bearer``; ``None`` means ``$DCP_RESOURCE_POOL_TOKEN``.
TOKEN: Optional[str] = None

_state = threading.local()


# ---- what the latest call left behind (per thread) ----


def last_error() -> Optional[str]:
    """Why the latest call on this thread failed, or ``None`` if it succeeded (or none was made)."""
    return getattr(_state, "error", None)


def last_result() -> Any:
    """The ``result`` of the latest call on this thread (``None`` if it failed).

    Useful after ``add_*`` / ``mod_*`` / ``del_*``, which return only the code.
    """
    return getattr(_state, "result", None)


def last_request_id() -> Optional[str]:
    """The ``X-Request-Id`` the service gave the latest call on this thread (the audit log keeps it)."""
    return getattr(_state, "request_id", None)


def _remember(result: Any, code: int, msg: Optional[str], request_id: Optional[str]) -> None:
    _state.result = result if code == SUCCESS else None
    _state.error = None if code == SUCCESS else (msg or "error code %d" % code)
    _state.request_id = request_id


# ---- transport ----


def base_url() -> str:
    """The service's base URL: ``$DCP_RESOURCE_POOL_URL`` or ``http://127.0.0.1:8001``."""
    url = os.environ.get(URL_ENV, "").strip() or DEFAULT_URL
    return url.rstrip("/")


def _timeout() -> float:
    if TIMEOUT is not None:
        return float(TIMEOUT)
    text = os.environ.get(TIMEOUT_ENV, "").strip()
    if text:
        try:
            value = float(text)
            if value > 0:
                return value
        except ValueError:
            pass
    return DEFAULT_TIMEOUT


def _token() -> str:
    if TOKEN is not None:
        return TOKEN.strip()
    return os.environ.get(TOKEN_ENV, "").strip()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, datetime.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8")
    raise TypeError("cannot send a %s" % type(value).__name__)


def _is_loopback(host: Optional[str]) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_direct_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _open(request: urllib.request.Request, timeout: float):
    # The service usually runs next to its callers: never send loopback calls to an HTTP proxy.
    host = urllib.parse.urlsplit(request.full_url).hostname
    if _is_loopback(host):
        return _direct_opener.open(request, timeout=timeout)
    return urllib.request.urlopen(request, timeout=timeout)


def _call(function: str, params: Dict[str, Any]) -> Tuple[Any, int]:
    """POSTs ``params`` to ``/api/<function>``; returns ``(result, code)`` and never raises on transport errors."""
    url = "%s/api/%s" % (base_url(), function)
    body_params = {k: v for k, v in params.items() if v is not None}
    try:
        body = json.dumps(body_params, default=_json_default).encode("utf-8")
    except (TypeError, ValueError) as e:
        _remember(None, BAD_ARGUMENT, "cannot encode the arguments of %s: %s" % (function, e), None)
        return None, BAD_ARGUMENT
    status = None
    request_id = None
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": "dcp-resource-pool-python",
    }
    token = _token()
    if token:
        headers["Authorization"] = "Bearer " + token
    try:
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)
        with _open(request, _timeout()) as response:
            status = response.status
            request_id = response.headers.get("X-Request-Id")
            raw = response.read()
    except urllib.error.HTTPError as e:
        # 4xx / 5xx answers carry the envelope too.
        status = e.code
        request_id = e.headers.get("X-Request-Id") if e.headers else None
        try:
            raw = e.read()
        except (OSError, socket.timeout) as read_error:
            _remember(None, UNAVAILABLE, "%s: HTTP %s, body unreadable: %s" % (url, status, read_error), request_id)
            return None, UNAVAILABLE
        finally:
            e.close()
    except (urllib.error.URLError, OSError, socket.timeout, ValueError) as e:
        # Connection refused, unknown host, timeout, or a malformed base URL.
        reason = getattr(e, "reason", None) or e
        _remember(None, UNAVAILABLE, "resource-pool unreachable at %s: %s" % (url, reason), None)
        return None, UNAVAILABLE
    except Exception as e:  # http.client.HTTPException and the like: a broken answer
        _remember(None, INTERNAL, "%s: broken answer: %s: %s" % (url, type(e).__name__, e), request_id)
        return None, INTERNAL

    try:
        envelope = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        excerpt = raw[:200].decode("utf-8", "replace")
        _remember(None, INTERNAL, "%s: HTTP %s, not a JSON answer: %r" % (url, status, excerpt), request_id)
        return None, INTERNAL
    if not isinstance(envelope, dict) or not isinstance(envelope.get("code"), int) or isinstance(envelope.get("code"), bool):
        _remember(None, INTERNAL, "%s: HTTP %s, not the service's envelope: %.200s" % (url, status, envelope), request_id)
        return None, INTERNAL
    code = envelope["code"]
    result = envelope.get("result") if code == SUCCESS else None
    _remember(result, code, envelope.get("msg"), request_id)
    return result, code


def _code(function: str, params: Dict[str, Any]) -> int:
    return _call(function, params)[1]


# ---- the seed's reads: (result, code) ----


def get_all_instance(model=None, stat=0, count=0):
    """All instances as a list of dicts, and the error code.

    keys: id ip port server_id name level stat business_id business owner_id owner
    db_type ha_type online_date. stat: 0 all, 1 online, 2 offline. count: 0 all, else at most count.
    """
    return _call("get_all_instance", {"model": model, "stat": stat, "count": count})


def get_all_server(model=None, stat=0, count=0):
    """All servers as a list of dicts, and the error code.

    keys: id ip name os stat owner owner_name online_date (owner is the id, owner_name the name).
    """
    return _call("get_all_server", {"model": model, "stat": stat, "count": count})


def get_all_db(model=None, stat=0, count=0):
    """All databases as a list of dicts, and the error code.

    keys: id ip port name level instance_id business_id business owner owner_name online_date stat.
    """
    return _call("get_all_db", {"model": model, "stat": stat, "count": count})


def get_instance(model=None, ip=None, port=3306):
    """The instance ``ip:port`` as a dict (keys of get_all_instance), and the error code."""
    return _call("get_instance", {"model": model, "ip": ip, "port": port})


def get_database_by_name_instance(model=None, ip=None, port=3306, db=None):
    """The database ``db`` of the instance ``ip:port`` as a dict (keys of get_all_db), and the error code."""
    return _call("get_database_by_name_instance", {"model": model, "ip": ip, "port": port, "db": db})


def get_server_by_ip(model=None, ip=None):
    """The server ``ip`` as a dict (keys of get_all_server), and the error code."""
    return _call("get_server_by_ip", {"model": model, "ip": ip})


# ---- the seed's writes: the error code ----


def add_server(ip, **args):
    """Adds the server ``ip``; returns the error code.

    args: server_name, server_online (date), server_owner, server_os, server_stat (1/2), model.
    """
    return _code("add_server", dict(args, ip=ip))


def mod_server(ip, **args):
    """Modifies the server ``ip`` (same keys as add_server); returns the error code."""
    return _code("mod_server", dict(args, ip=ip))


def del_server(ip, **args):
    """Deletes the server ``ip``; returns the error code (4 if it has instances, unless cascade=1)."""
    return _code("del_server", dict(args, ip=ip))


def add_instance(ip, port, **args):
    """Adds the instance ``ip:port`` (and its server if unknown); returns the error code.

    args: instance_level, instance_name, instance_bussiness (or instance_business),
    instance_online, instance_owner, instance_dbtype, instance_hatype, instance_stat, model.
    """
    return _code("add_instance", dict(args, ip=ip, port=port))


def mod_instance(ip, port, **args):
    """Modifies the instance ``ip:port`` (same keys as add_instance); returns the error code."""
    return _code("mod_instance", dict(args, ip=ip, port=port))


def del_instance(ip, port, **args):
    """Deletes the instance ``ip:port``; returns the error code (4 if it has databases, unless cascade=1)."""
    return _code("del_instance", dict(args, ip=ip, port=port))


def add_database(db, ip, port, **args):
    """Adds the database ``db`` on ``ip:port`` (and the instance and server if unknown); returns the error code.

    args: database_level, database_owner, database_business, database_online, database_stat,
    model; database_ip / database_port / database_name may only repeat ip / port / db.
    """
    return _code("add_database", dict(args, db=db, ip=ip, port=port))


def mod_database(ip, port, db, **args):
    """Modifies the database ``db`` on ``ip:port``; returns the error code.

    database_name renames it; database_ip / database_port move it to another existing instance.
    """
    return _code("mod_database", dict(args, ip=ip, port=port, db=db))


def del_database(ip, port, db, **args):
    """Deletes the database ``db`` on ``ip:port``; returns the error code."""
    return _code("del_database", dict(args, ip=ip, port=port, db=db))


# ---- beyond the seed: (result, code) ----


def audit_log(**filters):
    """EXTRA (not in the seed). A page of the audit log, newest first, and the error code.

    filters (all optional): who (the verified subject of the token that made the change),
    model, action (add|mod|del), entity (server|instance|database),
    ip (the server, its instances and their databases), since, until (dates, UTC),
    page (from 1), page_size (default 10, at most 1000).
    result: {"total", "page", "page_size", "entries": [{id, at, who, model, action, entity,
    target, old_value, new_value, request_id}]}; ``who`` is the token's subject, ``model``
    what the caller said of itself.
    """
    return _call("audit_log", dict(filters))


def probe_instance(ip, port=3306, model=None):
    """EXTRA (not in the seed). Connects to the listed instance ``ip:port`` and reports.

    result: {ip, port, reachable, version, uptime_seconds, error, elapsed_ms}; an unreachable
    instance is still code 0 (with reachable False); an unlisted one is code 2.
    """
    return _call("probe_instance", {"model": model, "ip": ip, "port": port})
