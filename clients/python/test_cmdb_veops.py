"""Scripts written for veops CMDB, run unchanged against DCP's cmdb (issue #15).

`veops_query` and `veops_crud` carry veops CMDB's documented Python client (`build_api_key`,
`get_ci`, `add_ci`, `update_ci`, `delete_ci`) in its documented form; this suite points their
URL, KEY and SECRET at a real cmdb and drives every documented call through them: searches
with every operator of the language, facets, sort, `fl`, `ret_key`; adds under each
`exist_policy` and `no_attribute_policy`; updates by unique value and by `ci_id`; deletes;
payloads holding booleans, nulls, lists, dicts, big integers and floats. The CI relation
routes, for which the documentation gives no client function, are called the way its
functions call the others: `build_api_key` over the path, then `requests`.

Run from the repository root (binaries as for test_cmdb.py: `$CMDB_BIN`, else
`$CARGO_TARGET_DIR/debug/cmdb`; the token issuer `$CLOUD_PORTAL_BIN` or the same folder's
`cloud-portal`):

    python3 -m unittest clients/python/test_cmdb_veops.py -v

With `$DCP_PY_TEST_MYSQL_URL` set, the suite runs again on that MySQL/MariaDB database.
"""

import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import requests  # noqa: E402

import cmdb  # noqa: E402
import veops_crud  # noqa: E402
import veops_query  # noqa: E402
from dcp_testing import CmdbService, Issuer, mysql_database_or_skip  # noqa: E402

ISSUER = None


def setUpModule():
    global ISSUER
    ISSUER = Issuer.started()


def tearDownModule():
    global ISSUER
    if ISSUER is not None:
        ISSUER.close()
        ISSUER = None


def Service(extra_env=None):
    """cmdb for these tests: the module's issuer, veops' model made by the tests themselves."""
    return CmdbService(ISSUER, {"DCP_PLATFORM__ENSURE_TYPES": "false", **(extra_env or {})})


def veops_call(method, path, payload):
    """A route without a documented client function, called as the documented ones call:
    `build_api_key` over the URL's path, parameters in the query for GET, JSON otherwise.
    Returns (status, decoded answer)."""
    url = veops_crud.URL.rsplit("/ci", 1)[0] + path
    payload = veops_crud.build_api_key(veops_crud.urlparse(url).path, dict(payload))
    if method == "GET":
        reply = requests.get(url, params=payload)
    else:
        reply = requests.request(method, url, json=payload)
    return reply.status_code, reply.json()


class _VeopsSuite:
    @classmethod
    def service_env(cls):
        return {}

    @classmethod
    def setUpClass(cls):
        cls.service = Service(extra_env=cls.service_env())
        cls.service.start()
        with open(cls.service.credentials, encoding="utf-8") as f:
            creds = json.load(f)
        for module, path in ((veops_query, "/api/v0.1/ci/s"), (veops_crud, "/api/v0.1/ci")):
            module.URL = cls.service.url + path
            module.KEY = creds["api_key"]
            module.SECRET = creds["secret"]
        # The model, through DCP's own client (veops documents no client for it) and, for
        # the types, veops' `/ci_types` route.
        admin = cmdb.Client(cls.service.url, creds["api_key"], creds["secret"])
        for name, fields in (
            ("hostname", {"attr_alias": "主机名", "is_uniq": True}),
            ("idc", {"attr_alias": "IDC", "choice_value": ["南汇", "张江", "外高桥"]}),
            ("cpu_count", {"value_type": "int"}),
            ("ram_gb", {"value_type": "float"}),
            ("nic", {"is_multivalue": True}),
            ("status", {}),
            ("serial", {}),
            ("app_name", {"is_uniq": True}),
            ("dept_name", {"is_uniq": True}),
        ):
            admin.add_attribute(name, **fields)
        cls.types = {}
        for type_name, unique in (("server", "hostname"), ("app", "app_name"), ("dept", "dept_name")):
            status, added = veops_call("POST", "/ci_types", {"name": type_name, "unique_key": unique})
            assert status == 200, added
            cls.types[type_name] = added["type_id"]
        ids = [admin.attribute(n)["attribute"]["attr_id"]
               for n in ("idc", "cpu_count", "ram_gb", "nic", "status", "serial")]
        admin.bind_attributes(cls.types["server"], ids)
        cls.admin = admin

    @classmethod
    def tearDownClass(cls):
        cls.service.stop()
        cls.service.cleanup()

    def add_server(self, hostname, **fields):
        payload = dict(ci_type="server", hostname=hostname, **fields)
        answer = veops_crud.add_ci(payload)
        self.assertIn("ci_id", answer, answer)
        return answer["ci_id"]

    def ci(self, ci_id):
        return self.admin.ci(ci_id)["ci"]

    # ---- search: get_ci ----

    def hostnames(self, q, **params):
        answer = veops_query.get_ci(dict(q=q, count=100, sort="hostname", **params))
        self.assertIn("result", answer, answer)
        return [ci["hostname"] for ci in answer["result"]]

    def test_search_with_every_operator_facets_sort_fl_and_ret_key(self):
        for host, idc, cpu, ram in (
            ("s-web-1", "南汇", 4, 8.0),
            ("s-web-2", "南汇", 16, 32.5),
            ("s-db-1", "张江", 32, 128.0),
            ("s-db-2", "外高桥", 8, 16.0),
        ):
            self.add_server(host, idc=idc, cpu_count=cpu, ram_gb=ram)
        q = "_type:server,hostname:s-*"
        self.assertEqual(self.hostnames(q), ["s-db-1", "s-db-2", "s-web-1", "s-web-2"])
        # AND (default), OR (-), NOT (~), OR NOT (-~).
        self.assertEqual(self.hostnames(q + ",idc:南汇,cpu_count:>8"), ["s-web-2"])
        self.assertEqual(self.hostnames("hostname:s-web-1,-hostname:s-db-2"), ["s-db-2", "s-web-1"])
        self.assertEqual(self.hostnames(q + ",~idc:南汇"), ["s-db-1", "s-db-2"])
        # s-web-1, or whatever has no cpu_count from 4 to 8.
        self.assertEqual(self.hostnames("hostname:s-*,(hostname:s-web-1,-~cpu_count:[4 _TO_ 8])"),
                         ["s-db-1", "s-web-1", "s-web-2"])
        # IN, RANGE, comparisons, wildcards.
        self.assertEqual(self.hostnames("hostname:(s-web-1;s-db-*)"), ["s-db-1", "s-db-2", "s-web-1"])
        self.assertEqual(self.hostnames("hostname:[s-db-2 _TO_ s-web-1]"), ["s-db-2", "s-web-1"])
        self.assertEqual(self.hostnames(q + ",cpu_count:>=16"), ["s-db-1", "s-web-2"])
        self.assertEqual(self.hostnames(q + ",cpu_count:<8"), ["s-web-1"])
        self.assertEqual(self.hostnames(q + ",ram_gb:<=16"), ["s-db-2", "s-web-1"])
        self.assertEqual(self.hostnames(q + ",ram_gb:>16.0"), ["s-db-1", "s-web-2"])
        # Parentheses group terms: cpu>8 AND (南汇 OR 张江), against left to right.
        self.assertEqual(self.hostnames(q + ",cpu_count:>8,(idc:南汇,-idc:张江)"), ["s-db-1", "s-web-2"])
        self.assertEqual(self.hostnames("cpu_count:>8,idc:南汇,-idc:外高桥"), ["s-db-2", "s-web-2"])
        self.assertEqual(self.hostnames("_type:(server;app),~(idc:南汇,-cpu_count:>=32),hostname:s-*"),
                         ["s-db-2"])
        # Facets over every match, sort, count/page, fl and ret_key.
        answer = veops_query.get_ci({"q": q, "facet": "idc", "sort": "-cpu_count", "count": 2, "page": 1,
                                     "fl": "hostname,cpu_count"})
        self.assertEqual((answer["numfound"], answer["total"], answer["page"]), (4, 2, 1))
        self.assertEqual([c["hostname"] for c in answer["result"]], ["s-db-1", "s-web-2"])
        self.assertEqual(set(answer["result"][0]) - {"_id", "_type", "ci_type", "ci_type_alias", "_unique"},
                         {"hostname", "cpu_count"})
        self.assertEqual(answer["counter"], {"server": 2})
        self.assertEqual(answer["facet"]["idc"][0], ["南汇", 2, "idc"])
        self.assertEqual(sum(n for _, n, _ in answer["facet"]["idc"]), 4)
        by_alias = veops_query.get_ci({"q": "hostname:s-web-1", "fl": "hostname,idc", "ret_key": "alias"})
        self.assertEqual(by_alias["result"][0]["主机名"], "s-web-1")
        self.assertEqual(by_alias["result"][0]["IDC"], "南汇")
        by_id = veops_query.get_ci({"q": "hostname:s-web-1", "fl": "hostname", "ret_key": "id"})
        hostname_id = str(self.admin.attribute("hostname")["attribute"]["attr_id"])
        self.assertEqual(by_id["result"][0][hostname_id], "s-web-1")
        # A mistake in q is a 400 with a message, which the documented client returns.
        self.assertIn("colour", veops_query.get_ci({"q": "colour:red"})["message"])
        self.assertIn("message", veops_query.get_ci({"q": "(idc:南汇"}))

    # ---- add / update / delete ----

    def test_add_under_each_exist_policy_and_no_attribute_policy(self):
        first = self.add_server("p-1", cpu_count=2)
        # reject (the default, and said): a second add of the same unique value is refused.
        self.assertIn("already exists", veops_crud.add_ci({"ci_type": "server", "hostname": "p-1"})["message"])
        refused = veops_crud.add_ci({"ci_type": "server", "hostname": "p-1", "exist_policy": "reject"})
        self.assertIn("already exists", refused["message"])
        # need: updates the CI that exists; none is refused and nothing is added.
        needed = veops_crud.add_ci({"ci_type": "server", "hostname": "p-1", "cpu_count": 4, "exist_policy": "need"})
        self.assertEqual(needed, {"ci_id": first})
        self.assertEqual(self.ci(first)["cpu_count"], 4)
        self.assertIn("message", veops_crud.add_ci({"ci_type": "server", "hostname": "p-2", "exist_policy": "need"}))
        self.assertEqual(self.hostnames("hostname:p-2"), [])
        # replace: updates the CI that exists, else adds one.
        replaced = veops_crud.add_ci({"ci_type": "server", "hostname": "p-1", "cpu_count": 8,
                                      "exist_policy": "replace"})
        self.assertEqual(replaced, {"ci_id": first})
        self.assertEqual(self.ci(first)["cpu_count"], 8)
        added = veops_crud.add_ci({"ci_type": "server", "hostname": "p-2", "exist_policy": "replace"})
        self.assertNotEqual(added["ci_id"], first)
        # no_attribute_policy: ignore (default) drops what the type lacks, reject refuses it.
        kept = veops_crud.add_ci({"ci_type": "server", "hostname": "p-3", "colour": "red"})
        self.assertNotIn("colour", self.ci(kept["ci_id"]))
        refused = veops_crud.add_ci({"ci_type": "server", "hostname": "p-4", "colour": "red",
                                     "no_attribute_policy": "reject"})
        self.assertIn("colour", refused["message"])
        self.assertEqual(self.hostnames("hostname:p-4"), [])
        ignored = veops_crud.add_ci({"ci_type": "server", "hostname": "p-4", "colour": "red",
                                     "no_attribute_policy": "ignore"})
        self.assertIn("ci_id", ignored)

    def test_update_by_unique_value_and_by_ci_id(self):
        ci_id = self.add_server("u-1", cpu_count=2, status="new")
        self.assertEqual(veops_crud.update_ci({"ci_type": "server", "hostname": "u-1", "status": "online"}),
                         {"ci_id": ci_id})
        self.assertEqual(self.ci(ci_id)["status"], "online")
        self.assertEqual(veops_crud.update_ci({"cpu_count": 12, "hostname": "u-1b"}, ci_id=ci_id),
                         {"ci_id": ci_id})
        ci = self.ci(ci_id)
        self.assertEqual((ci["cpu_count"], ci["hostname"]), (12, "u-1b"))
        self.assertEqual(veops_crud.update_ci({"ci_type": "server", "status": "offline"}, ci_id=ci_id),
                         {"ci_id": ci_id})
        self.assertEqual(self.ci(ci_id)["status"], "offline")
        self.assertIn("message", veops_crud.update_ci({"status": "x"}, ci_id=99999999))
        self.assertIn("message", veops_crud.update_ci({"ci_type": "server", "hostname": "u-none", "status": "x"}))

    def test_delete(self):
        ci_id = self.add_server("d-1")
        self.assertEqual(veops_crud.delete_ci(ci_id), {"message": "ok"})
        self.assertEqual(self.hostnames("hostname:d-1"), [])
        self.assertIn("message", veops_crud.delete_ci(ci_id))

    def test_payloads_with_booleans_nulls_lists_dicts_big_integers_and_floats(self):
        big = 2 ** 70
        answer = veops_crud.add_ci({
            "ci_type": "server", "hostname": "v-1", "nic": ["eth0", "eth1"], "status": None,
            "serial": big, "ram_gb": 1e-07, "cpu_count": 8, "is_virtual": True,
            "labels": {"team": "infra", "tags": ["a", 1]},
        })
        self.assertIn("ci_id", answer, answer)
        ci = self.ci(answer["ci_id"])
        self.assertEqual(ci["nic"], ["eth0", "eth1"])
        self.assertEqual(ci["serial"], str(big))
        self.assertEqual(ci["ram_gb"], 1e-07)
        self.assertIsNone(ci["status"])
        # Floats Python writes in exponent form or with `.0`, and the update forms, likewise.
        for ram in (1e16, 100.0, 0.1 + 0.2, 2.5e-300):
            self.assertEqual(veops_crud.update_ci({"ci_type": "server", "hostname": "v-1", "ram_gb": ram,
                                                   "status": False}), answer)
            self.assertEqual(self.ci(answer["ci_id"])["ram_gb"], ram)
        self.assertEqual(veops_crud.update_ci({"nic": ["eth2"], "status": None, "extra": {}}, ci_id=answer["ci_id"]),
                         answer)
        self.assertEqual(self.ci(answer["ci_id"])["nic"], ["eth2"])
        # Signed right, a value the attribute cannot take is a 400 naming it, never 401.
        url = veops_crud.URL
        payload = veops_crud.build_api_key("/api/v0.1/ci", {"ci_type": "server", "hostname": "v-2",
                                                             "cpu_count": big})
        reply = requests.post(url, json=payload)
        self.assertEqual(reply.status_code, 400, reply.text)
        self.assertIn("cpu_count", reply.json()["message"])
        payload = veops_crud.build_api_key("/api/v0.1/ci", {"ci_type": "server", "hostname": "v-2",
                                                             "status": {"a": 1}})
        reply = requests.post(url, json=payload)
        self.assertEqual(reply.status_code, 400, reply.text)
        # A wrong secret is a 401 with a message.
        saved = veops_crud.SECRET
        veops_crud.SECRET = "not-the-secret"
        try:
            refused = veops_crud.add_ci({"ci_type": "server", "hostname": "v-3", "vip": True})
        finally:
            veops_crud.SECRET = saved
        self.assertIn("_secret", refused["message"])
        self.assertEqual(self.hostnames("hostname:v-3"), [])

    # ---- CI relations ----

    def test_relations_added_searched_under_a_root_and_deleted(self):
        def add(ci_type, **fields):
            answer = veops_crud.add_ci(dict(ci_type=ci_type, **fields))
            self.assertIn("ci_id", answer, answer)
            return answer["ci_id"]

        dept = add("dept", dept_name="r-dept")
        apps = [add("app", app_name="r-app-%d" % i) for i in (1, 2)]
        servers = [self.add_server("r-srv-%d" % i, idc="南汇" if i % 2 else "张江") for i in (1, 2, 3, 4)]
        cr_ids = []
        for first, second in ((dept, apps[0]), (dept, apps[1]), (apps[0], servers[0]), (apps[0], servers[1]),
                              (apps[1], servers[2]), (apps[1], servers[3])):
            status, answer = veops_call("POST", "/ci_relations/%d/%d" % (first, second), {})
            self.assertEqual(status, 200, answer)
            cr_ids.append(answer["cr_id"])

        def under(**params):
            status, answer = veops_call("GET", "/ci_relations/s", params)
            self.assertEqual(status, 200, answer)
            return sorted(ci["_id"] for ci in answer["result"]), answer

        self.assertEqual(under(root_id=dept)[0], sorted(apps))
        self.assertEqual(under(root_id=dept, level=1)[0], sorted(apps))
        self.assertEqual(under(root_id=dept, level=2)[0], sorted(servers))
        ids, answer = under(root_id=dept, level="1,2", count=25)
        self.assertEqual(ids, sorted(apps + servers))
        self.assertEqual(answer["counter"], {"app": 2, "server": 4})
        ids, answer = under(root_id=dept, level=2, q="_type:server,idc:南汇", facet="idc", fl="hostname",
                            sort="-hostname", count=1, ret_key="name")
        self.assertEqual(answer["numfound"], 2)
        self.assertEqual(answer["result"][0]["hostname"], "r-srv-3")
        self.assertEqual(answer["facet"], {"idc": [["南汇", 2, "idc"]]})
        self.assertEqual(under(root_id=servers[3], reverse=1)[0], [apps[1]])
        self.assertEqual(under(root_id=servers[3], reverse=1, level="1,2")[0], sorted([apps[1], dept]))
        status, answer = veops_call("DELETE", "/ci_relations/%d" % cr_ids[1], {})
        self.assertEqual(status, 200, answer)
        self.assertEqual(under(root_id=dept, level=2)[0], sorted(servers[:2]))
        status, answer = veops_call("DELETE", "/ci_relations/%d" % cr_ids[1], {})
        self.assertEqual(status, 404)
        self.assertIn("message", answer)
        status, answer = veops_call("GET", "/ci_relations/s", {"root_id": 99999999})
        self.assertEqual(status, 404)
        self.assertIn("message", answer)

    def test_errors_are_veops_message_bodies_with_veops_statuses(self):
        status, answer = veops_call("GET", "/ci_relations/s", {"level": 1})
        self.assertEqual(status, 400)
        self.assertIn("root_id", answer["message"])
        status, answer = veops_call("GET", "/ci/99999999", {})
        self.assertEqual(status, 404)
        self.assertIn("message", answer)
        reply = requests.get(veops_query.URL, params={"q": "_type:server"})
        self.assertEqual(reply.status_code, 401)
        self.assertIn("message", reply.json())
        user = self.admin.create_user("veops-user-%s" % os.getpid())
        saved = (veops_crud.KEY, veops_crud.SECRET)
        veops_crud.KEY, veops_crud.SECRET = user["api_key"], user["secret"]
        try:
            status, answer = veops_call("POST", "/ci_types", {"name": "forbidden", "unique_key": "hostname"})
        finally:
            veops_crud.KEY, veops_crud.SECRET = saved
        self.assertEqual(status, 403)
        self.assertIn("message", answer)


class VeopsClientTest(_VeopsSuite, unittest.TestCase):
    """On a fresh SQLite database."""


class MysqlVeopsClientTest(_VeopsSuite, unittest.TestCase):
    """Again on the MySQL database of $DCP_PY_TEST_MYSQL_URL (skipped if unset)."""

    @classmethod
    def setUpClass(cls):
        cls.mysql = mysql_database_or_skip()
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.mysql.drop()

    @classmethod
    def service_env(cls):
        return {"DCP_DATABASE__URL": cls.mysql.url}


if __name__ == "__main__":
    unittest.main()
