"""veops CMDB's documented Python client for searching CIs, in its documented form.

The snippet "查询" (query) of `docs/cmdb_api.md` in the veops/cmdb repository, section
"五、Python调用样例": `build_api_key` and `get_ci`, as operators copy them into their
scripts. Only the three constants differ: a script sets them to its CMDB (the test module
`test_cmdb_veops` points them at DCP's cmdb). `future.moves.urllib.parse` is the documented
import; on Python 3 it is `urllib.parse`, used when the `future` package is absent.
"""

import hashlib

import requests

try:
    from future.moves.urllib.parse import urlparse
except ImportError:  # the same function on Python 3
    from urllib.parse import urlparse

URL = "https://demo.veops.cn/api/v0.1/ci/s"
KEY = "Your API key"
SECRET = "Your API secret"


def build_api_key(path, params):
    values = "".join([str(params[k]) for k in sorted((params or {}).keys())
                      if k not in ("_key", "_secret") and not isinstance(params[k], (dict, list))])
    _secret = "".join([path, SECRET, values]).encode("utf-8")
    params["_secret"] = hashlib.sha1(_secret).hexdigest()
    params["_key"] = KEY

    return params


def get_ci(payload):
    payload = build_api_key(urlparse(URL).path, payload)

    return requests.get(URL, params=payload).json()
