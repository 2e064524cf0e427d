"""Schemathesis hooks of the OpenAPI conformance run (test_openapi_conformance.py).

Loaded by the schemathesis CLI through ``SCHEMATHESIS_HOOKS=conformance_hooks``; what a
request needs to get past a service's authentication comes from the environment the test
sets (``DCP_CONFORMANCE_*``). Only the credentials are put in: every other generated value
goes out as generated, so the checks see how the service answers it.

- cmdb: every request is signed as the admin (``_key``, ``_secret`` = the SHA-1 of path,
  secret and the other parameters' values by name; proto-docs/cmdb.md). Values are first made
  the text the service will read, so the signature is over what it sees.
- cloud-portal: ``session_key`` of a logged-in user (an admin's for ``/api/admin/*`` and
  ``/api/service/*``, the demo user's elsewhere); ``/api/logout`` gets a session of its own,
  made for it, so that the run's sessions stay alive.
- soa-registry: ``key``.
"""

import hashlib
import json
import os
import urllib.parse
import urllib.request

import schemathesis

SERVICE = os.environ.get("DCP_CONFORMANCE_SERVICE", "")


def _text(value):
    """A value as the services read it from a form or a query string."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _json_signed_text(value):
    """wire::cmdb::signed_text of a JSON value: what cmdb hashes for a JSON body's field."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def _flat_text(params):
    """A query or form mapping as the text pairs it goes out as (None left out)."""
    return {str(k): _text(v) for k, v in params.items() if v is not None}


def _is_form(case):
    return (case.media_type or "").startswith("application/x-www-form-urlencoded")


def _sign_cmdb(case):
    key = os.environ["DCP_CONFORMANCE_CMDB_KEY"]
    secret = os.environ["DCP_CONFORMANCE_CMDB_SECRET"]
    query = _flat_text(case.query or {})
    for name in ("_key", "_secret", "_ts"):
        query.pop(name, None)
    signed = {name: value for name, value in query.items()}
    body = case.body
    if isinstance(body, dict):
        if _is_form(case):
            body = _flat_text(body)
            case.body = body
            for name in ("_key", "_secret", "_ts"):
                body.pop(name, None)
            signed.update(body)
        else:
            for name in ("_key", "_secret", "_ts"):
                body.pop(name, None)
            signed.update({str(k): _json_signed_text(v) for k, v in body.items()})
    query["_key"] = key
    path = urllib.parse.unquote(case.formatted_path)
    text = path + secret + "".join(signed[name] for name in sorted(signed))
    query["_secret"] = hashlib.sha1(text.encode("utf-8")).hexdigest()
    case.query = query


def _portal_login(username, password):
    base = os.environ["DCP_CONFORMANCE_BASE_URL"]
    data = urllib.parse.urlencode({"username": username, "password": password}).encode()
    with urllib.request.urlopen(base + "/api/login", data=data, timeout=10) as response:
        answer = json.loads(response.read().decode("utf-8"))
    return answer["session_key"]


def _portal_session(case):
    path = case.operation.path
    if path == "/api/logout":
        return _portal_login(os.environ["DCP_CONFORMANCE_PORTAL_USER"], os.environ["DCP_CONFORMANCE_PORTAL_PASSWORD"])
    if path.startswith("/api/admin/") or path.startswith("/api/service/"):
        return os.environ["DCP_CONFORMANCE_PORTAL_ADMIN_SESSION"]
    return os.environ["DCP_CONFORMANCE_PORTAL_USER_SESSION"]


def _put(case, name, value):
    """`name` = `value` in the body if it is an object (form or JSON), else in the query."""
    if isinstance(case.body, dict):
        case.body[name] = value
    else:
        query = dict(case.query or {})
        query[name] = value
        case.query = query


@schemathesis.hook
def before_call(context, case, kwargs):
    if SERVICE == "cmdb":
        if case.operation.path != "/openapi.json":
            _sign_cmdb(case)
    elif SERVICE == "cloud-portal":
        if case.operation.path.startswith("/api/") and case.operation.path != "/api/login":
            _put(case, "session_key", _portal_session(case))
    elif SERVICE == "soa-registry":
        if case.operation.path not in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
            _put(case, "key", os.environ["DCP_CONFORMANCE_SOA_KEY"])
