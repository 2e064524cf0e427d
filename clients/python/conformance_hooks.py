"""Schemathesis hooks of the OpenAPI conformance run (test_openapi_conformance.py).

Loaded by the schemathesis CLI through ``SCHEMATHESIS_HOOKS=conformance_hooks``; what a
request needs to get past a service's authentication comes from the environment the test
sets (``DCP_CONFORMANCE_*``). Only the credentials are put in: every other generated value
goes out as generated, so the checks see how the service answers it.

- every service: ``Authorization: Bearer <DCP_CONFORMANCE_TOKEN>``, an admin's access token
  (of the platform's issuer; for cloud-portal, its own);
- cloud-portal's ``/api/*`` (the seed's API) instead: ``session_key`` of a logged-in user (an
  admin's for ``/api/admin/*`` and ``/api/service/*``, the demo user's elsewhere), as the
  seed's clients send it; ``/api/logout`` gets a session of its own, made for it, so that the
  run's sessions stay alive.
"""

import json
import os
import urllib.parse
import urllib.request

import schemathesis

SERVICE = os.environ.get("DCP_CONFORMANCE_SERVICE", "")


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
    path = case.operation.path
    if SERVICE == "cloud-portal" and path.startswith("/api/"):
        if path != "/api/login":
            _put(case, "session_key", _portal_session(case))
        return
    headers = dict(case.headers or {})
    headers["Authorization"] = "Bearer " + os.environ["DCP_CONFORMANCE_TOKEN"]
    case.headers = headers
