#!/usr/bin/env python3
# _*_ coding: utf-8 _*_
# The seed's t_post.py (docs: cloud-portal-api.rst), ported to Python 3 with its logic unchanged.
# Only change beyond the port: the host may come from $LYC_HOST ("127.0.0.1:8005"), because
# the service does not listen on port 80.

import base64
import os
import urllib.parse
import http.client


username = 'luoyun'
password = 'luoyun'
host = os.environ.get('LYC_HOST', '127.0.0.1')

params = urllib.parse.urlencode({'username': username, 'password': password})
auth = base64.b64encode(('cleartext username' + ':' + 'cleartext passwords').encode()).decode()
headers = {"Authorization": "Basic " + auth,
           'Content-Type': 'application/x-www-form-urlencoded',
           'User-Agent': 'LYC Client'}

conn = http.client.HTTPConnection(host)
conn.request("POST", "/api/login", params, headers)
response = conn.getresponse()

print(response.read().decode().strip())
