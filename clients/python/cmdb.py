"""Python client of the DCP ``cmdb`` service (the seed's CMDB API under ``/api/v0.1``).

A request proves who sends it in one of two ways:

* a platform access token (a JWT from the platform's issuer, e.g. cloud-portal's
  ``POST /oauth/token``), sent as ``Authorization: Bearer <token>``; the token's roles decide
  what it may do (viewer: reads; operator: CI and relation writes; admin: everything,
  including the model and users). With a token the request is not signed;
* without a token, the seed's way: the request is signed with a cmdb api key::

    _secret = sha1_hex(path + secret + "".join(value of every other parameter, by name))

where ``path`` is the URL path with its ``/api/v0.1`` prefix (no host, no query string),
``secret`` is the user's secret, and the values are those of every parameter except ``_key``
and ``_secret``, concatenated in the order of the parameters' names (Python's ``sorted``),
with no separator. ``_key`` carries the api key. With ``timestamps=True`` a ``_ts``
parameter (unix seconds, signed like the others) is added; the service refuses it outside
its acceptance window, which limits replays.

Parameters travel as text: in the query string for GET and DELETE, as a form body for POST
and PUT. Values are converted before signing, exactly as they are sent:

* ``None`` is left out;
* ``True`` / ``False`` become ``"1"`` / ``"0"``;
* a list or tuple (the values of a multi-valued attribute) is joined with ``","``;
* ``datetime.datetime`` / ``datetime.date`` become ``YYYY-mm-dd HH:MM:SS`` / ``YYYY-mm-dd``;
* anything else goes through ``str()``.

Errors: every answer that is not 2xx raises :class:`CmdbError` with the HTTP ``status``
(400 bad argument or already exists, 401 unsigned, mis-signed or no valid token, 403 not
allowed, 404 not found, 500 the service failed, 503 tokens cannot be verified now) and the
service's ``message``. A transport failure raises :class:`CmdbError` with status 0.

Configuration: ``Client(base_url, key, secret, token=None)``; ``base_url`` defaults to
``$DCP_CMDB_URL`` or ``http://127.0.0.1:8004``, ``key`` / ``secret`` to ``$DCP_CMDB_KEY`` /
``$DCP_CMDB_SECRET``, ``token`` to ``$DCP_CMDB_TOKEN`` (``token=""`` sends none, so the
request is signed with the key even when that variable is set). The client does not fetch or
renew tokens: give it a fresh one (``client.token = ...``) when the old one expires.
Standard library only; Python 3.8 or later.
"""

import datetime
import hashlib
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request

API = "/api/v0.1"
DEFAULT_URL = "http://127.0.0.1:8004"


class CmdbError(Exception):
    """A refused request: ``status`` is the HTTP status (0: no answer), ``message`` the reason."""

    def __init__(self, status, message, body=None):
        super().__init__("HTTP %s: %s" % (status, message))
        self.status = status
        self.message = message
        self.body = body


def as_text(value):
    """A parameter's value as it is sent and signed."""
    if value is True:
        return "1"
    if value is False:
        return "0"
    if isinstance(value, (list, tuple)):
        return ",".join(as_text(v) for v in value)
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, datetime.date):
        return value.strftime("%Y-%m-%d")
    return str(value)


def sign(path, secret, params):
    """The ``_secret`` of a request to ``path`` (with ``/api/v0.1``) carrying ``params`` (text values)."""
    text = path + secret + "".join(
        params[name] for name in sorted(params) if name not in ("_key", "_secret")
    )
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class Client:
    """One caller of cmdb: ``token`` (sent as ``Authorization: Bearer``) if there is one, else
    the api ``key`` / ``secret`` that sign every request; see the module's documentation."""

    def __init__(self, base_url=None, key=None, secret=None, timeout=10.0, timestamps=False, token=None):
        self.base_url = (base_url or os.environ.get("DCP_CMDB_URL") or DEFAULT_URL).rstrip("/")
        self.key = key if key is not None else os.environ.get("DCP_CMDB_KEY")
        self.secret = secret if secret is not None else os.environ.get("DCP_CMDB_SECRET")
        self.token = token if token is not None else os.environ.get("DCP_CMDB_TOKEN")
        self.timeout = timeout
        self.timestamps = timestamps

    # ---- the one way requests go out ----

    def prepare(self, path, params=None, signed=True):
        """The text parameters of a request to ``API + path``, with ``_key`` / ``_secret``
        (unless the client has a token, which replaces the signature)."""
        text = {k: as_text(v) for k, v in (params or {}).items() if v is not None}
        if signed and self.key and not self.token:
            if self.timestamps:
                text["_ts"] = str(int(time.time()))
            text["_key"] = self.key
            text["_secret"] = sign(API + path, self.secret or "", text)
        return text

    def request(self, method, path, params=None, signed=True):
        """Sends the request and returns the decoded JSON answer; raises :class:`CmdbError`."""
        text = self.prepare(path, params, signed)
        url = self.base_url + urllib.parse.quote(API + path, safe="/")
        data = None
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        encoded = urllib.parse.urlencode(text)
        if method in ("POST", "PUT"):
            data = encoded.encode("utf-8")
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif encoded:
            url += "?" + encoded
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            raw = e.read().decode("utf-8", "replace")
            try:
                body = json.loads(raw)
                message = body.get("message", raw) if isinstance(body, dict) else raw
            except ValueError:
                body, message = None, raw
            raise CmdbError(e.code, message, body) from None
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise CmdbError(0, "cannot reach %s: %s" % (self.base_url, e)) from None

    # ---- attributes ----

    def attributes(self, q=None):
        return self.request("GET", "/attributes", {"q": q})

    def attribute(self, name_or_id):
        return self.request("GET", "/attributes/%s" % name_or_id)

    def add_attribute(self, attr_name, **fields):
        """``fields``: attr_alias, value_type, choice_value (list), is_multivalue, is_uniq."""
        return self.request("POST", "/attributes", dict(fields, attr_name=attr_name))

    def update_attribute(self, attr_id, **fields):
        return self.request("PUT", "/attributes/%d" % attr_id, fields)

    def delete_attribute(self, attr_id):
        return self.request("DELETE", "/attributes/%d" % attr_id)

    def citype_attributes(self, type_id):
        return self.request("GET", "/attributes/citype/%d" % type_id)

    def bind_attributes(self, type_id, attr_ids, is_required=False):
        return self.request(
            "POST", "/attributes/citype/%d" % type_id,
            {"attr_id": list(attr_ids), "is_required": is_required},
        )

    def unbind_attributes(self, type_id, attr_ids):
        return self.request("DELETE", "/attributes/citype/%d" % type_id, {"attr_id": list(attr_ids)})

    # ---- CI types ----

    def citypes(self, type_name=None):
        return self.request("GET", "/citypes", {"type_name": type_name})

    def query_citype(self, type_key):
        return self.request("GET", "/citypes/query", {"type": type_key})

    def add_citype(self, type_name, **fields):
        """``fields``: type_alias, ``_id`` or unique, icon_url, enabled."""
        return self.request("POST", "/citypes", dict(fields, type_name=type_name))

    def update_citype(self, type_id, **fields):
        return self.request("PUT", "/citypes/%d" % type_id, fields)

    def enable_citype(self, type_id, enabled=True):
        return self.request("POST", "/citypes/enable/%d" % type_id, {"enabled": enabled})

    def delete_citype(self, type_id):
        return self.request("DELETE", "/citypes/%d" % type_id)

    # ---- CI type relations ----

    def citype_relation_types(self):
        return self.request("GET", "/cityperelations/types")

    def citype_children(self, parent):
        return self.request("GET", "/cityperelations/%d/children" % parent)

    def citype_parents(self, child):
        return self.request("GET", "/cityperelations/%d/parents" % child)

    def add_citype_relation(self, parent, child, relation_type=None):
        return self.request("POST", "/cityperelations/%d/%d" % (parent, child), {"relation_type": relation_type})

    def delete_citype_relation(self, ctr_id):
        return self.request("DELETE", "/cityperelations/%d" % ctr_id)

    # ---- CIs ----

    def cis_of_type(self, type_id, fields=None, ret_key=None, page=None):
        return self.request("GET", "/ci/type/%d" % type_id, {"fields": fields, "ret_key": ret_key, "page": page})

    def ci(self, ci_id):
        return self.request("GET", "/ci/%d" % ci_id)

    def add_ci(self, ci_type, _no_attribute_policy=None, **attributes):
        params = dict(attributes, ci_type=ci_type, _no_attribute_policy=_no_attribute_policy)
        return self.request("POST", "/ci", params)

    def update_ci(self, ci_type, _no_attribute_policy=None, **attributes):
        params = dict(attributes, ci_type=ci_type, _no_attribute_policy=_no_attribute_policy)
        return self.request("PUT", "/ci", params)

    def delete_ci(self, ci_id):
        return self.request("DELETE", "/ci/%d" % ci_id)

    def search(self, q=None, **params):
        """``params``: _type, _id, fl, ret_key, count, page, facet, sort."""
        return self.request("GET", "/ci/s", dict(params, q=q))

    # ---- CI relations ----

    def ci_relation_types(self):
        return self.request("GET", "/cirelations/types")

    def second_cis(self, first_ci):
        return self.request("GET", "/cirelations/%d/second_cis" % first_ci)

    def first_cis(self, second_ci):
        return self.request("GET", "/cirelations/%d/first_cis" % second_ci)

    def add_ci_relation(self, first_ci, second_ci, relation_type=None, more=None):
        return self.request(
            "POST", "/cirelations/%d/%d" % (first_ci, second_ci),
            {"relation_type": relation_type, "more": more},
        )

    def delete_ci_relation(self, cr_id):
        return self.request("DELETE", "/cirelations/delete/%d" % cr_id)

    # ---- history ----

    def history(self, page=None, username=None, start=None, end=None, page_size=None):
        return self.request(
            "GET", "/history/record",
            {"page": page, "username": username, "start": start, "end": end, "page_size": page_size},
        )

    def history_record(self, record_id):
        return self.request("GET", "/history/%d" % record_id)

    # ---- users (admins only) ----

    def create_user(self, username, is_admin=False):
        return self.request("POST", "/users", {"username": username, "is_admin": is_admin})

    def user(self, username):
        return self.request("GET", "/users/%s" % username)
