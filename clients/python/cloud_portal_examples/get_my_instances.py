#!/usr/bin/env python3
# _*_ coding: utf-8 _*_
# The seed's get_my_instances.py (docs: cloud-portal-api.rst), ported to Python 3 with its logic
# unchanged. Beyond the port: the host may come from $LYC_HOST ("127.0.0.1:8005") and the session
# key from $LYC_SESSION_KEY (the seed hard-codes both).

import base64
import os
import urllib.parse
import http.client
import sys

api = "/api/myun/instance"
session_key = os.environ.get('LYC_SESSION_KEY', 'be26574d62df76b1b131984cc8b9c85cf6ea1496')
host = os.environ.get('LYC_HOST', '127.0.0.1')

params = urllib.parse.urlencode({'session_key': session_key,
                                 'sepa': 2, 'p': 1})
auth = base64.b64encode(('cleartext username' + ':' + 'cleartext passwords').encode()).decode()
headers = {"Authorization": "Basic " + auth,
           'Content-Type': 'application/x-www-form-urlencoded',
           'User-Agent': 'LYC Client'}

conn = http.client.HTTPConnection(host)
conn.request("POST", api, params, headers)
response = conn.getresponse()

print(response.read().decode().strip())
