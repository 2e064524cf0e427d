"""veops CMDB's documented Python client for adding, updating and deleting CIs, in its
documented form.

The snippet "增、删、改" (add, delete, update) of `docs/cmdb_api.md` in the veops/cmdb
repository, section "五、Python调用样例": `build_api_key`, `add_ci`, `update_ci` and
`delete_ci`, as operators copy them into their scripts. Only the three constants differ: a
script sets them to its CMDB (the test module `test_cmdb_veops` points them at DCP's cmdb).
`future.moves.urllib.parse` is the documented import; on Python 3 it is `urllib.parse`, used
when the `future` package is absent.
"""

import hashlib

import requests

try:
    from future.moves.urllib.parse import urlparse
except ImportError:  # the same function on Python 3
    from urllib.parse import urlparse

URL = "https://demo.veops.cn/api/v0.1/ci"
KEY = "Your API key"
SECRET = "Your API secret"


def build_api_key(path, params):
    values = "".join([str(params[k]) for k in sorted((params or {}).keys())
                      if k not in ("_key", "_secret") and not isinstance(params[k], (dict, list))])
    _secret = "".join([path, SECRET, values]).encode("utf-8")
    params["_secret"] = hashlib.sha1(_secret).hexdigest()
    params["_key"] = KEY

    return params


def add_ci(payload):
    payload = build_api_key(urlparse(URL).path, payload)

    return requests.post(URL, json=payload).json()


def update_ci(payload, ci_id=None):
    url = "{url}/{ci_id}".format(url=URL, ci_id=ci_id) if ci_id is not None else URL

    payload = build_api_key(urlparse(url).path, payload)

    return requests.put(url, json=payload).json()


def delete_ci(ci_id):
    url = "{url}/{ci_id}".format(url=URL, ci_id=ci_id)

    payload = build_api_key(urlparse(url).path, {})

    return requests.delete(url, json=payload).json()
