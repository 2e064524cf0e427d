"""Tests of the Python client `resource_pool` against the real resource-pool service.

Run from the repository root:

    python3 -m unittest discover -s clients/python -v

The service binary is `$RESOURCE_POOL_BIN`, else `$CARGO_TARGET_DIR/debug/resource-pool`, else
`<repo>/target/debug/resource-pool` (build it with `cargo build -p resource-pool`). The suite starts
it on a free port with a fresh SQLite database; when `$DCP_PY_TEST_MYSQL_URL` is set (for example
`mysql://root@127.0.0.1:3306/dcp_pytest_1234`) the whole suite runs a second time against that MySQL
database, which the service creates and the suite drops at the end (only if it did not exist before;
dropping uses the `mysql` command-line client). Without it, the MySQL run is skipped.

The service trusts a real cloud-portal started once for this module as the platform's token
issuer (`dcp_testing.Issuer`; its binary is `$CLOUD_PORTAL_BIN`, else the same target folder's
`cloud-portal`); the client sends that issuer's admin token (`rp.TOKEN`).
"""

import datetime
import http.server
import itertools
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import resource_pool as rp  # noqa: E402
from dcp_testing import Issuer, ServiceProcess, mysql_database_or_skip, service_binary  # noqa: E402

# The platform's token issuer of this module: a real cloud-portal (setUpModule).
ISSUER = None


def setUpModule():
    global ISSUER
    ISSUER = Issuer.started()


def tearDownModule():
    global ISSUER
    if ISSUER is not None:
        ISSUER.close()
        ISSUER = None


def resource_pool_binary():
    return service_binary("resource-pool", "RESOURCE_POOL_BIN")


class Service(ServiceProcess):
    """The resource-pool binary, run on 127.0.0.1:0 with the given database URL, trusting the
    module's issuer."""

    def __init__(self, database_url, extra_env=None):
        env = {"DCP_DATABASE__URL": database_url}
        env.update(ISSUER.auth_env())
        env.update(extra_env or {})
        super().__init__("resource-pool", "RESOURCE_POOL_BIN", env=env)
        self.database_url = database_url


DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")

SERVER_KEYS = {"id", "ip", "name", "os", "stat", "owner", "owner_name", "online_date"}
INSTANCE_KEYS = {
    "id", "ip", "port", "server_id", "name", "level", "stat", "business_id", "business",
    "owner_id", "owner", "db_type", "ha_type", "online_date",
}
DATABASE_KEYS = {
    "id", "ip", "port", "name", "level", "instance_id", "business_id", "business", "owner",
    "owner_name", "online_date", "stat",
}
# What the seed lists for each single-object getter: the service returns a superset.
SEED_GET_SERVER_KEYS = {"stat", "name", "ip", "online_date", "owner", "os", "id"}
SEED_GET_INSTANCE_KEYS = {
    "id", "ip", "port", "server_id", "stat", "name", "level", "db_type", "online_date",
    "business_id", "owner", "ha_type",
}
SEED_GET_DATABASE_KEYS = {"id", "name", "level", "online_date", "business_id", "instance_id", "owner", "stat"}
AUDIT_ENTRY_KEYS = {
    "id", "at", "model", "action", "entity", "target", "old_value", "new_value", "request_id", "who",
}
PROBE_KEYS = {"ip", "port", "reachable", "version", "uptime_seconds", "error", "elapsed_ms"}


def closed_port():
    """A TCP port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raw_request(url, data=None, headers=None, method=None, token=None):
    """(status, headers, body bytes) of one HTTP request, 4xx/5xx included; bypasses proxies.
    ``token`` goes out as ``Authorization: Bearer``."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = "Bearer " + token
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as e:
        try:
            return e.code, e.headers, e.read()
        finally:
            e.close()


class _InventorySuite:
    """Every test of the client against a running service; mixed into one TestCase per backend."""

    service = None
    mysql = None

    @classmethod
    def database_url(cls, workdir):
        raise NotImplementedError

    @classmethod
    def service_env(cls):
        return {}

    @classmethod
    def setUpClass(cls):
        cls._workdir = tempfile.mkdtemp(prefix="rp-pytest-")
        cls._ips = itertools.count(1)
        cls._net = (random.randint(0, 255), random.randint(0, 255))
        cls._saved_url = os.environ.get(rp.URL_ENV)
        cls.service = Service(cls.database_url(cls._workdir), cls.service_env())
        try:
            url = cls.service.start()
        except Exception:
            cls._teardown_resources()
            raise
        os.environ[rp.URL_ENV] = url

    @classmethod
    def tearDownClass(cls):
        cls._teardown_resources()

    @classmethod
    def _teardown_resources(cls):
        if cls._saved_url is None:
            os.environ.pop(rp.URL_ENV, None)
        else:
            os.environ[rp.URL_ENV] = cls._saved_url
        if cls.service is not None:
            cls.service.stop()
            cls.service.cleanup()
            cls.service = None
        if cls.mysql is not None:
            cls.mysql.drop()
        shutil.rmtree(cls._workdir, ignore_errors=True)

    def setUp(self):
        # Each test starts from the service's URL and the admin's token, whatever an earlier
        # test did to the environment.
        os.environ[rp.URL_ENV] = self.service.url
        rp.TIMEOUT = None
        rp.TOKEN = ISSUER.token()
        self.addCleanup(setattr, rp, "TOKEN", None)

    # ---- helpers ----

    def ip(self):
        """A fresh IPv4 address, unused by any earlier test of this run."""
        n = next(self._ips)
        a, b = self._net
        return "10.%d.%d.%d" % (a, (b + n // 250) % 256, n % 250 + 1)

    def ok(self, code, what=""):
        self.assertEqual(code, rp.SUCCESS, "%s: code %s: %s" % (what, code, rp.last_error()))

    def assert_code(self, code, expected, what=""):
        self.assertEqual(code, expected, "%s: expected code %s, got %s (%s)" % (what, expected, code, rp.last_error()))

    def get_ok(self, pair, what=""):
        self.assertIsInstance(pair, tuple, what)
        self.assertEqual(len(pair), 2, what)
        result, code = pair
        self.ok(code, what)
        self.assertIsNotNone(result, what)
        return result

    def assert_not_found(self, pair, what=""):
        result, code = pair
        self.assert_code(code, rp.NOT_FOUND, what)
        self.assertIsNone(result, what)

    def add_tree(self, model=None, port=3306, db="app"):
        """A server with one instance with one database; returns (ip, port, db)."""
        ip = self.ip()
        self.ok(rp.add_server(ip, server_name="srv-" + ip, server_os="linux", model=model), "add_server")
        self.ok(rp.add_instance(ip, port, instance_name="ins", model=model), "add_instance")
        self.ok(rp.add_database(db, ip, port, database_level="A", model=model), "add_database")
        return ip, port, db

    # ---- the seed's reads ----

    def test_get_all_return_lists_of_dicts_with_the_seed_keys(self):
        ip, port, db = self.add_tree()
        servers = self.get_ok(rp.get_all_server(), "get_all_server")
        instances = self.get_ok(rp.get_all_instance(), "get_all_instance")
        databases = self.get_ok(rp.get_all_db(), "get_all_db")
        for rows, keys in ((servers, SERVER_KEYS), (instances, INSTANCE_KEYS), (databases, DATABASE_KEYS)):
            self.assertIsInstance(rows, list)
            self.assertTrue(rows)
            for row in rows:
                self.assertIsInstance(row, dict)
                self.assertEqual(set(row), keys)
                self.assertRegex(row["online_date"], DATE_TIME)
        self.assertIn(ip, [s["ip"] for s in servers])
        self.assertIn((ip, port), [(i["ip"], i["port"]) for i in instances])
        self.assertIn((ip, port, db), [(d["ip"], d["port"], d["name"]) for d in databases])
        # The model argument is accepted by every read, positionally too.
        self.get_ok(rp.get_all_server("pytest", 0, 0))
        self.get_ok(rp.get_all_instance("pytest", 0, 0))
        self.get_ok(rp.get_all_db("pytest", 0, 0))

    def test_get_one_return_dicts_with_the_seed_keys(self):
        ip = self.ip()
        self.ok(rp.add_server(ip, server_name="db-host", server_os="centos7", server_owner="alice",
                              server_online="2021-05-06", model="pytest"))
        self.ok(rp.add_instance(ip, 3307, instance_name="main", instance_level="S",
                                instance_bussiness="payments", instance_owner="bob", instance_dbtype="mysql",
                                instance_hatype="mha", instance_online="2021-05-07 08:09:10", model="pytest"))
        self.ok(rp.add_database("ledger", ip, 3307, database_level="A", database_owner="carol",
                                database_business="payments", database_online="2021-05-08", model="pytest"))

        server = self.get_ok(rp.get_server_by_ip(model="pytest", ip=ip), "get_server_by_ip")
        self.assertIsInstance(server, dict)
        self.assertEqual(set(server), SERVER_KEYS)
        self.assertTrue(SEED_GET_SERVER_KEYS <= set(server))
        self.assertEqual(server["ip"], ip)
        self.assertEqual(server["name"], "db-host")
        self.assertEqual(server["os"], "centos7")
        self.assertEqual(server["stat"], 1)
        self.assertIsInstance(server["owner"], int)  # server: owner = id, owner_name = name
        self.assertEqual(server["owner_name"], "alice")
        self.assertEqual(server["online_date"], "2021-05-06 00:00:00")

        instance = self.get_ok(rp.get_instance(model="pytest", ip=ip, port=3307), "get_instance")
        self.assertEqual(set(instance), INSTANCE_KEYS)
        self.assertTrue(SEED_GET_INSTANCE_KEYS <= set(instance))
        self.assertEqual((instance["ip"], instance["port"]), (ip, 3307))
        self.assertEqual(instance["server_id"], server["id"])
        self.assertEqual(instance["name"], "main")
        self.assertEqual(instance["level"], "S")
        self.assertEqual(instance["business"], "payments")
        self.assertIsInstance(instance["business_id"], int)
        self.assertIsInstance(instance["owner_id"], int)  # instance: owner_id = id, owner = name
        self.assertEqual(instance["owner"], "bob")
        self.assertEqual(instance["db_type"], "mysql")
        self.assertEqual(instance["ha_type"], "mha")
        self.assertEqual(instance["stat"], 1)
        self.assertEqual(instance["online_date"], "2021-05-07 08:09:10")

        database = self.get_ok(
            rp.get_database_by_name_instance(model="pytest", ip=ip, port=3307, db="ledger"),
            "get_database_by_name_instance",
        )
        self.assertEqual(set(database), DATABASE_KEYS)
        self.assertTrue(SEED_GET_DATABASE_KEYS <= set(database))
        self.assertEqual((database["ip"], database["port"], database["name"]), (ip, 3307, "ledger"))
        self.assertEqual(database["instance_id"], instance["id"])
        self.assertEqual(database["level"], "A")
        self.assertIsInstance(database["owner"], int)  # database: owner = id, owner_name = name
        self.assertEqual(database["owner_name"], "carol")
        self.assertEqual(database["business"], "payments")
        self.assertEqual(database["business_id"], instance["business_id"])  # same business, same id
        self.assertEqual(database["stat"], 1)
        self.assertEqual(database["online_date"], "2021-05-08 00:00:00")

        # The list functions return the same objects.
        self.assertIn(server, self.get_ok(rp.get_all_server()))
        self.assertIn(instance, self.get_ok(rp.get_all_instance()))
        self.assertIn(database, self.get_ok(rp.get_all_db()))

    def test_port_defaults_to_3306(self):
        ip = self.ip()
        self.ok(rp.add_instance(ip, 3306))
        self.ok(rp.add_database("d1", ip, 3306))
        instance = self.get_ok(rp.get_instance(ip=ip))
        self.assertEqual(instance["port"], 3306)
        database = self.get_ok(rp.get_database_by_name_instance(ip=ip, db="d1"))
        self.assertEqual(database["port"], 3306)
        self.assert_not_found(rp.get_instance(ip=ip, port=3307))

    def test_defaults_of_added_rows(self):
        ip = self.ip()
        before = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None, microsecond=0) - datetime.timedelta(seconds=2)
        self.ok(rp.add_server(ip))
        server = self.get_ok(rp.get_server_by_ip(ip=ip))
        self.assertEqual(server["stat"], 1)
        self.assertEqual(server["name"], "")
        self.assertIsNone(server["owner"])
        self.assertEqual(server["owner_name"], "")
        online = datetime.datetime.strptime(server["online_date"], "%Y-%m-%d %H:%M:%S")
        self.assertGreaterEqual(online, before)
        self.ok(rp.add_instance(ip, 3306))
        instance = self.get_ok(rp.get_instance(ip=ip))
        self.assertEqual(instance["stat"], 1)
        self.assertEqual(instance["db_type"], "mysql")
        self.assertIsNone(instance["owner_id"])
        self.assertIsNone(instance["business_id"])

    def test_stat_filters(self):
        on, off = self.ip(), self.ip()
        self.ok(rp.add_server(on, server_stat=1))
        self.ok(rp.add_server(off, server_stat=2))
        self.ok(rp.add_instance(on, 3306, instance_stat=1))
        self.ok(rp.add_instance(off, 3306, instance_stat="2"))
        self.ok(rp.add_database("x", on, 3306, database_stat=1))
        self.ok(rp.add_database("x", off, 3306, database_stat=2))
        cases = (
            (rp.get_all_server, lambda r: r["ip"]),
            (rp.get_all_instance, lambda r: r["ip"]),
            (rp.get_all_db, lambda r: r["ip"]),
        )
        for function, ip_of in cases:
            name = function.__name__
            everything = self.get_ok(function(), name)
            online = self.get_ok(function(stat=1), name + " stat=1")
            offline = self.get_ok(function(stat=2), name + " stat=2")
            self.assertTrue(all(r["stat"] == 1 for r in online), name)
            self.assertTrue(all(r["stat"] == 2 for r in offline), name)
            self.assertIn(on, [ip_of(r) for r in online], name)
            self.assertNotIn(off, [ip_of(r) for r in online], name)
            self.assertIn(off, [ip_of(r) for r in offline], name)
            self.assertNotIn(on, [ip_of(r) for r in offline], name)
            self.assertEqual(len(everything), len(online) + len(offline), name)
            self.assertEqual(self.get_ok(function(stat=0)), everything, name)
            result, code = function(stat=3)
            self.assert_code(code, rp.BAD_ARGUMENT, name + " stat=3")
            self.assertIsNone(result)
            self.assertIn("stat", rp.last_error())

    def test_count_limits_and_orders_by_id(self):
        for _ in range(3):
            self.add_tree()
        for function in (rp.get_all_server, rp.get_all_instance, rp.get_all_db):
            name = function.__name__
            everything = self.get_ok(function(count=0), name)
            self.assertGreaterEqual(len(everything), 3, name)
            ids = [r["id"] for r in everything]
            self.assertEqual(ids, sorted(ids), name + " is ordered by id")
            two = self.get_ok(function(count=2), name + " count=2")
            self.assertEqual(two, everything[:2], name)
            one = self.get_ok(function(None, 0, 1), name + " count=1")
            self.assertEqual(one, everything[:1], name)
            self.assertEqual(self.get_ok(function(count=len(everything) + 100)), everything, name)
            online = self.get_ok(function(stat=1))
            self.assertEqual(self.get_ok(function(stat=1, count=1)), online[:1], name)
            result, code = function(count=-1)
            self.assert_code(code, rp.BAD_ARGUMENT, name + " count=-1")
            self.assertIsNone(result)

    # ---- auto-creation ----

    def test_add_instance_creates_its_server(self):
        ip = self.ip()
        self.assert_not_found(rp.get_server_by_ip(ip=ip))
        self.ok(rp.add_instance(ip, 3310, instance_name="auto", instance_business="crm", model="pytest"))
        created = rp.last_result()
        self.assertIsInstance(created, dict)
        self.assertEqual(set(created), INSTANCE_KEYS)
        self.assertEqual(created["business"], "crm")  # instance_business accepted for instance_bussiness
        server = self.get_ok(rp.get_server_by_ip(ip=ip), "server auto-created")
        self.assertEqual(server["stat"], 1)
        instance = self.get_ok(rp.get_instance(ip=ip, port=3310))
        self.assertEqual(instance, created)
        self.assertEqual(instance["server_id"], server["id"])
        # A second instance on the same server reuses it.
        self.ok(rp.add_instance(ip, 3311))
        self.assertEqual(self.get_ok(rp.get_instance(ip=ip, port=3311))["server_id"], server["id"])
        self.assertEqual([s["ip"] for s in self.get_ok(rp.get_all_server())].count(ip), 1)

    def test_add_database_creates_instance_and_server(self):
        ip = self.ip()
        self.ok(rp.add_database("orders", ip, 3312, database_level="B", database_owner="dave",
                                database_business="shop", database_online="2023-03-04 05:06:07",
                                database_ip=ip, database_port=3312, database_name="orders", model="pytest"))
        created = rp.last_result()
        self.assertEqual(set(created), DATABASE_KEYS)
        server = self.get_ok(rp.get_server_by_ip(ip=ip), "server auto-created")
        instance = self.get_ok(rp.get_instance(ip=ip, port=3312), "instance auto-created")
        self.assertEqual(instance["server_id"], server["id"])
        database = self.get_ok(rp.get_database_by_name_instance(ip=ip, port=3312, db="orders"))
        self.assertEqual(database, created)
        self.assertEqual(database["instance_id"], instance["id"])
        self.assertEqual(database["level"], "B")
        self.assertEqual(database["owner_name"], "dave")
        self.assertEqual(database["business"], "shop")
        self.assertEqual(database["online_date"], "2023-03-04 05:06:07")
        # In add_database, database_ip/port/name may only repeat the positional arguments.
        self.assert_code(rp.add_database("other", ip, 3312, database_name="different"), rp.BAD_ARGUMENT)
        self.assertIn("database_name", rp.last_error())
        self.assert_code(rp.add_database("other", ip, 3312, database_port=3313), rp.BAD_ARGUMENT)
        self.assertIn("database_port", rp.last_error())

    # ---- refusals ----

    def test_duplicates_give_code_3(self):
        ip = self.ip()
        self.ok(rp.add_server(ip))
        self.assert_code(rp.add_server(ip), rp.DUPLICATE, "add_server twice")
        self.assertIn(ip, rp.last_error())
        self.ok(rp.add_instance(ip, 3306))
        self.assert_code(rp.add_instance(ip, 3306), rp.DUPLICATE, "add_instance twice")
        self.ok(rp.add_database("dup", ip, 3306))
        self.assert_code(rp.add_database("dup", ip, 3306), rp.DUPLICATE, "add_database twice")
        self.assertIsNone(rp.last_result())
        self.assertEqual(len([d for d in self.get_ok(rp.get_all_db()) if (d["ip"], d["name"]) == (ip, "dup")]), 1)

    def test_del_server_with_instances_is_refused_unless_cascade(self):
        ip, port, db = self.add_tree()
        server = self.get_ok(rp.get_server_by_ip(ip=ip))
        instance = self.get_ok(rp.get_instance(ip=ip, port=port))
        database = self.get_ok(rp.get_database_by_name_instance(ip=ip, port=port, db=db))

        self.assert_code(rp.del_server(ip), rp.IN_USE, "del_server with an instance")
        self.assertIn("cascade", rp.last_error())
        self.assert_code(rp.del_instance(ip, port), rp.IN_USE, "del_instance with a database")
        self.assertIn("cascade", rp.last_error())
        self.assert_code(rp.del_server(ip, cascade=0), rp.IN_USE)
        # Nothing was lost.
        self.assertEqual(self.get_ok(rp.get_server_by_ip(ip=ip)), server)
        self.assertEqual(self.get_ok(rp.get_instance(ip=ip, port=port)), instance)
        self.assertEqual(self.get_ok(rp.get_database_by_name_instance(ip=ip, port=port, db=db)), database)

        self.ok(rp.del_server(ip, cascade=1, model="pytest"), "del_server cascade=1")
        self.assertEqual(rp.last_result(), {"servers": 1, "instances": 1, "databases": 1})
        self.assert_not_found(rp.get_server_by_ip(ip=ip))
        self.assert_not_found(rp.get_instance(ip=ip, port=port))
        self.assert_not_found(rp.get_database_by_name_instance(ip=ip, port=port, db=db))
        self.assertNotIn(ip, [s["ip"] for s in self.get_ok(rp.get_all_server())])
        self.assertNotIn(ip, [i["ip"] for i in self.get_ok(rp.get_all_instance())])
        self.assertNotIn(ip, [d["ip"] for d in self.get_ok(rp.get_all_db())])

    def test_del_instance_cascade_and_plain_deletes(self):
        ip, port, db = self.add_tree()
        self.ok(rp.add_database("second", ip, port))
        self.ok(rp.del_instance(ip, port, cascade=True))
        self.assertEqual(rp.last_result(), {"servers": 0, "instances": 1, "databases": 2})
        self.get_ok(rp.get_server_by_ip(ip=ip), "the server stays")
        self.assert_not_found(rp.get_database_by_name_instance(ip=ip, port=port, db="second"))

        self.ok(rp.add_database("solo", ip, port))
        self.ok(rp.del_database(ip, port, "solo"))
        self.assertEqual(rp.last_result(), {"servers": 0, "instances": 0, "databases": 1})
        self.assert_code(rp.del_database(ip, port, "solo"), rp.NOT_FOUND)
        self.ok(rp.del_instance(ip, port), "an instance without databases goes without cascade")
        self.assertEqual(rp.last_result(), {"servers": 0, "instances": 1, "databases": 0})
        self.ok(rp.del_server(ip), "a server without instances goes without cascade")
        self.assertEqual(rp.last_result(), {"servers": 1, "instances": 0, "databases": 0})
        self.assert_code(rp.del_server(ip), rp.NOT_FOUND)

    def test_unknown_keys_are_refused_and_named(self):
        ip, port, db = self.add_tree()
        before = (
            self.get_ok(rp.get_server_by_ip(ip=ip)),
            self.get_ok(rp.get_instance(ip=ip, port=port)),
            self.get_ok(rp.get_database_by_name_instance(ip=ip, port=port, db=db)),
        )
        self.assert_code(rp.mod_server(ip, server_name="x", server_colour="red"), rp.BAD_ARGUMENT)
        self.assertIn("server_colour", rp.last_error())
        self.assert_code(rp.mod_instance(ip, port, instance_name="x", instance_colour="red"), rp.BAD_ARGUMENT)
        self.assertIn("instance_colour", rp.last_error())
        self.assert_code(rp.mod_database(ip, port, db, database_level="x", database_size=3), rp.BAD_ARGUMENT)
        self.assertIn("database_size", rp.last_error())
        after = (
            self.get_ok(rp.get_server_by_ip(ip=ip)),
            self.get_ok(rp.get_instance(ip=ip, port=port)),
            self.get_ok(rp.get_database_by_name_instance(ip=ip, port=port, db=db)),
        )
        self.assertEqual(before, after, "a refused change changes nothing")
        other = self.ip()
        self.assert_code(rp.add_server(other, server_name="x", name="x"), rp.BAD_ARGUMENT)
        self.assertIn("`name`", rp.last_error())
        self.assert_not_found(rp.get_server_by_ip(ip=other))
        self.assert_code(rp.add_instance(other, 3306, instance_size=1), rp.BAD_ARGUMENT)
        self.assertIn("instance_size", rp.last_error())
        self.assert_not_found(rp.get_server_by_ip(ip=other))

    def test_not_found_gives_code_2_and_no_result(self):
        ip = self.ip()
        self.assert_not_found(rp.get_server_by_ip(ip=ip))
        self.assertIn(ip, rp.last_error())
        self.assert_not_found(rp.get_instance(ip=ip, port=3306))
        self.assert_not_found(rp.get_database_by_name_instance(ip=ip, port=3306, db="nope"))
        self.assert_code(rp.mod_server(ip, server_name="x"), rp.NOT_FOUND)
        self.assert_code(rp.mod_instance(ip, 3306, instance_name="x"), rp.NOT_FOUND)
        self.assert_code(rp.mod_database(ip, 3306, "nope", database_level="x"), rp.NOT_FOUND)
        self.assert_code(rp.del_server(ip), rp.NOT_FOUND)
        self.assert_code(rp.del_instance(ip, 3306), rp.NOT_FOUND)
        self.assert_code(rp.del_database(ip, 3306, "nope"), rp.NOT_FOUND)
        self.assertIsNone(rp.last_result())
        result, code = rp.probe_instance(ip, 3306)
        self.assert_code(code, rp.NOT_FOUND, "probe of an unlisted instance")
        self.assertIsNone(result)

    def test_bad_arguments_give_code_1(self):
        ip = self.ip()
        self.ok(rp.add_server(ip))
        cases = [
            ("get_server_by_ip without ip", rp.get_server_by_ip(), "ip"),
            ("get_instance without ip", rp.get_instance(), "ip"),
            ("get_database_by_name_instance without db", rp.get_database_by_name_instance(ip=ip), "db"),
            ("an ip that is not one", rp.get_server_by_ip(ip="10.0.0.256"), "ip"),
            ("a port out of range", rp.get_instance(ip=ip, port=70000), "port"),
        ]
        for what, (result, code), field in cases:
            self.assert_code(code, rp.BAD_ARGUMENT, what)
            self.assertIsNone(result, what)
        self.assert_code(rp.add_server(self.ip(), server_online="yesterday"), rp.BAD_ARGUMENT)
        self.assertIn("server_online", rp.last_error())
        self.assert_code(rp.add_server(self.ip(), server_stat=3), rp.BAD_ARGUMENT)
        self.assertIn("server_stat", rp.last_error())
        self.assert_code(rp.mod_server(ip), rp.BAD_ARGUMENT, "mod_server with nothing to change")
        self.assert_code(rp.add_instance(ip, "not-a-port"), rp.BAD_ARGUMENT)
        self.assertIn("port", rp.last_error())

    # ---- modifications ----

    def test_mod_server_and_mod_instance(self):
        ip = self.ip()
        self.ok(rp.add_server(ip, server_name="before", server_os="linux", server_owner="erin"))
        old = self.get_ok(rp.get_server_by_ip(ip=ip))
        self.ok(rp.mod_server(ip, server_name="after", server_stat=2, server_online="2020-01-01 01:02:03",
                              model="pytest"))
        new = self.get_ok(rp.get_server_by_ip(ip=ip))
        self.assertEqual(rp.last_result(), new)
        self.assertEqual(new["name"], "after")
        self.assertEqual(new["stat"], 2)
        self.assertEqual(new["online_date"], "2020-01-01 01:02:03")
        self.assertEqual((new["id"], new["os"], new["owner"], new["owner_name"]),
                         (old["id"], old["os"], old["owner"], old["owner_name"]), "keys not given stay")
        self.ok(rp.mod_server(ip, server_owner="frank"))
        self.assertEqual(self.get_ok(rp.get_server_by_ip(ip=ip))["owner_name"], "frank")
        self.assertNotEqual(self.get_ok(rp.get_server_by_ip(ip=ip))["owner"], old["owner"])

        self.ok(rp.add_instance(ip, 3306, instance_name="i1", instance_bussiness="b1"))
        self.ok(rp.mod_instance(ip, 3306, instance_bussiness="b2", instance_stat=2, instance_hatype="mgr",
                                instance_level="B", instance_owner="gina", instance_dbtype="mariadb",
                                instance_online="2019-09-09"))
        instance = self.get_ok(rp.get_instance(ip=ip, port=3306))
        self.assertEqual(rp.last_result(), instance)
        self.assertEqual((instance["name"], instance["business"], instance["stat"], instance["ha_type"],
                          instance["level"], instance["owner"], instance["db_type"], instance["online_date"]),
                         ("i1", "b2", 2, "mgr", "B", "gina", "mariadb", "2019-09-09 00:00:00"))
        self.ok(rp.mod_instance(ip, 3306, instance_business="b3"))
        self.assertEqual(self.get_ok(rp.get_instance(ip=ip))["business"], "b3")

    def test_mod_database_renames_and_moves(self):
        ip, port, db = self.add_tree()
        self.ok(rp.mod_database(ip, port, db, database_level="C", database_owner="hank", database_stat=2,
                                database_business="erp", database_online="2018-08-08"))
        changed = self.get_ok(rp.get_database_by_name_instance(ip=ip, port=port, db=db))
        self.assertEqual((changed["level"], changed["owner_name"], changed["stat"], changed["business"],
                          changed["online_date"]), ("C", "hank", 2, "erp", "2018-08-08 00:00:00"))

        self.ok(rp.mod_database(ip, port, db, database_name="renamed"))
        self.assert_not_found(rp.get_database_by_name_instance(ip=ip, port=port, db=db))
        renamed = self.get_ok(rp.get_database_by_name_instance(ip=ip, port=port, db="renamed"))
        self.assertEqual(renamed["id"], changed["id"])

        # Moving needs an existing instance.
        other = self.ip()
        self.assert_code(rp.mod_database(ip, port, "renamed", database_ip=other, database_port=3307), rp.NOT_FOUND)
        self.ok(rp.add_instance(other, 3307))
        self.ok(rp.mod_database(ip, port, "renamed", database_ip=other, database_port=3307))
        moved = self.get_ok(rp.get_database_by_name_instance(ip=other, port=3307, db="renamed"))
        self.assertEqual(moved["id"], changed["id"])
        self.assertEqual(moved["instance_id"], self.get_ok(rp.get_instance(ip=other, port=3307))["id"])
        self.assert_not_found(rp.get_database_by_name_instance(ip=ip, port=port, db="renamed"))

        # Renaming onto an existing database is a duplicate.
        self.ok(rp.add_database("taken", other, 3307))
        self.assert_code(rp.mod_database(other, 3307, "renamed", database_name="taken"), rp.DUPLICATE)

    # ---- audit log (beyond the seed) ----

    def test_audit_log_records_model_and_old_new_values(self):
        model = "pytest-audit-" + uuid.uuid4().hex[:8]
        ip = self.ip()
        self.ok(rp.add_server(ip, server_name="first", model=model))
        add_request = rp.last_request_id()
        self.assertTrue(add_request)
        self.ok(rp.mod_server(ip, server_name="second", model=model))
        mod_request = rp.last_request_id()
        self.ok(rp.del_server(ip, model=model))

        page = self.get_ok(rp.audit_log(model=model), "audit_log")
        self.assertEqual(set(page), {"total", "page", "page_size", "entries"})
        self.assertEqual(page["total"], 3)
        self.assertEqual(page["page"], 1)
        entries = page["entries"]
        for entry in entries:
            self.assertEqual(set(entry), AUDIT_ENTRY_KEYS)
            self.assertEqual(entry["model"], model)
            self.assertEqual(entry["entity"], "server")
            self.assertEqual(entry["target"], ip)
            self.assertRegex(entry["at"], DATE_TIME)
            self.assertTrue(entry["request_id"])
        self.assertEqual([e["action"] for e in entries], ["del", "mod", "add"], "newest first")
        deleted, modified, added = entries
        self.assertIsNone(added["old_value"])
        self.assertEqual(added["new_value"]["name"], "first")
        self.assertEqual(added["new_value"]["ip"], ip)
        self.assertEqual(added["request_id"], add_request)
        self.assertEqual(modified["old_value"]["name"], "first")
        self.assertEqual(modified["new_value"]["name"], "second")
        self.assertEqual(modified["request_id"], mod_request)
        self.assertEqual(deleted["old_value"]["name"], "second")
        self.assertIsNone(deleted["new_value"])

        only_mod = self.get_ok(rp.audit_log(model=model, action="mod"))
        self.assertEqual([e["id"] for e in only_mod["entries"]], [modified["id"]])
        first_page = self.get_ok(rp.audit_log(model=model, page=1, page_size=1))
        self.assertEqual((first_page["total"], first_page["page_size"]), (3, 1))
        self.assertEqual([e["id"] for e in first_page["entries"]], [deleted["id"]])
        second_page = self.get_ok(rp.audit_log(model=model, page=2, page_size=1))
        self.assertEqual([e["id"] for e in second_page["entries"]], [modified["id"]])
        today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        self.assertEqual(self.get_ok(rp.audit_log(model=model, since=today))["total"], 3)
        self.assertEqual(self.get_ok(rp.audit_log(model=model, until="2000-01-01"))["total"], 0)
        result, code = rp.audit_log(action="rename")
        self.assert_code(code, rp.BAD_ARGUMENT)
        self.assertIsNone(result)

    def test_audit_log_of_auto_creation_and_cascade(self):
        model = "pytest-chain-" + uuid.uuid4().hex[:8]
        ip = self.ip()
        self.ok(rp.add_database("chain", ip, 3320, model=model))
        added = self.get_ok(rp.audit_log(ip=ip))["entries"]
        self.assertEqual(sorted((e["action"], e["entity"], e["target"]) for e in added), sorted([
            ("add", "server", ip),
            ("add", "instance", "%s:3320" % ip),
            ("add", "database", "%s:3320/chain" % ip),
        ]))
        self.assertTrue(all(e["model"] == model for e in added))
        self.ok(rp.del_server(ip, cascade=1, model=model))
        deleted = self.get_ok(rp.audit_log(ip=ip, action="del"))["entries"]
        self.assertEqual(sorted(e["entity"] for e in deleted), ["database", "instance", "server"])
        self.assertTrue(all(e["new_value"] is None and e["old_value"] for e in deleted))

    def test_model_is_optional(self):
        ip = self.ip()
        self.ok(rp.add_server(ip))
        entries = self.get_ok(rp.audit_log(ip=ip))["entries"]
        self.assertEqual(len(entries), 1)
        self.assertTrue(entries[0]["model"])  # recorded as a placeholder when not given

    # ---- probe (beyond the seed) ----

    def test_probe_of_a_closed_port_reports_unreachable(self):
        port = closed_port()
        code = rp.add_instance("127.0.0.1", port)
        self.assertIn(code, (rp.SUCCESS, rp.DUPLICATE), rp.last_error())
        report = self.get_ok(rp.probe_instance("127.0.0.1", port, model="pytest"), "probe_instance")
        self.assertEqual(set(report), PROBE_KEYS)
        self.assertEqual((report["ip"], report["port"]), ("127.0.0.1", port))
        self.assertIs(report["reachable"], False)
        self.assertIsNone(report["version"])
        self.assertIsInstance(report["error"], str)
        self.assertTrue(report["error"])
        self.assertIsInstance(report["elapsed_ms"], int)

    # ---- the client's own conveniences ----

    def test_dates_and_ipv6(self):
        ip = "fd00:%x:%x::%x" % (random.randint(1, 0xFFFF), random.randint(1, 0xFFFF), next(self._ips))
        self.ok(rp.add_server(ip.upper(), server_online=datetime.datetime(2022, 1, 2, 3, 4, 5)))
        server = self.get_ok(rp.get_server_by_ip(ip=ip))
        self.assertEqual(server["ip"], ip, "IPv6 addresses are kept in canonical form")
        self.assertEqual(server["online_date"], "2022-01-02 03:04:05")
        self.ok(rp.mod_server(ip, server_online=datetime.date(2022, 2, 3)))
        self.assertEqual(self.get_ok(rp.get_server_by_ip(ip=ip))["online_date"], "2022-02-03 00:00:00")
        self.ok(rp.add_database("v6", ip, 3306))
        entries = self.get_ok(rp.audit_log(ip=ip, entity="database"))["entries"]
        self.assertEqual([e["target"] for e in entries], ["[%s]:3306/v6" % ip])

    def test_last_error_is_cleared_by_success(self):
        self.assert_code(rp.mod_server(self.ip(), server_colour="red"), rp.BAD_ARGUMENT)
        self.assertTrue(rp.last_error())
        self.get_ok(rp.get_all_server(count=1))
        self.assertIsNone(rp.last_error())

    # ---- the HTTP surface under the module ----

    def test_http_surface(self):
        base = self.service.url
        token = ISSUER.token()
        ip = self.ip()
        self.ok(rp.add_server(ip, server_name="raw"))
        # Query string, GET.
        status, headers, body = raw_request(
            base + "/api/get_server_by_ip?" + urllib.parse.urlencode({"ip": ip}), token=token
        )
        self.assertEqual(status, 200)
        reply = json.loads(body)
        self.assertEqual((reply["code"], reply["result"]["name"]), (0, "raw"))
        self.assertIsInstance(reply["msg"], str)
        # Form body, POST; the body wins over the query string.
        status, _, body = raw_request(
            base + "/api/get_server_by_ip?ip=10.255.255.255",
            data=urllib.parse.urlencode({"ip": ip}).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            token=token,
        )
        self.assertEqual((status, json.loads(body)["result"]["ip"]), (200, ip))
        # X-Request-Id is taken from the request and sent back.
        status, headers, _ = raw_request(
            base + "/api/get_all_server?count=1", headers={"X-Request-Id": "pytest-42"}, token=token
        )
        self.assertEqual(headers.get("X-Request-Id"), "pytest-42")
        status, headers, _ = raw_request(base + "/api/get_all_server?count=1", token=token)
        self.assertTrue(headers.get("X-Request-Id"))
        # HTTP statuses follow the codes.
        for path, expected_status, expected_code in (
            ("/api/get_server_by_ip?ip=bad", 400, 1),
            ("/api/get_server_by_ip?ip=" + self.ip(), 404, 2),
            ("/api/add_server?ip=" + ip, 409, 3),
        ):
            status, _, body = raw_request(base + path, data=b"", method="POST", token=token)
            reply = json.loads(body)
            self.assertEqual((status, reply["code"], reply["result"]), (expected_status, expected_code, None), path)
        for path in ("/healthz", "/readyz"):
            status, _, _ = raw_request(base + path)
            self.assertEqual(status, 200, path)
        status, headers, body = raw_request(base + "/metrics", token=token)
        self.assertEqual(status, 200)
        self.assertIn("dcp_http_requests_total", body.decode())
        status, _, body = raw_request(base + "/openapi.json")
        self.assertEqual(status, 200)
        paths = json.loads(body).get("paths", {})
        for function in rp.__all__[:15] + ["audit_log", "probe_instance"]:
            self.assertTrue(any(p.rstrip("/") == "/api/" + function for p in paths), function)


    # ---- access tokens ----

    def test_a_call_without_a_token_gets_401_in_the_seeds_envelope(self):
        ip = self.ip()
        rp.TOKEN = ""
        self.assertEqual(rp.get_all_server(), (None, rp.UNAUTHENTICATED))
        self.assertTrue(rp.last_error())
        self.assert_code(rp.add_server(ip), rp.UNAUTHENTICATED)
        # The raw answer: HTTP 401 with the seed's envelope, code 7.
        for path in ("/api/get_all_server", "/api/add_server?ip=" + ip):
            status, _, body = raw_request(self.service.url + path, data=b"", method="POST")
            reply = json.loads(body)
            self.assertEqual((status, reply["code"], reply["result"]), (401, rp.UNAUTHENTICATED, None), path)
            self.assertIsInstance(reply["msg"], str)
            self.assertTrue(reply["msg"])
        status, _, _ = raw_request(self.service.url + "/metrics")
        self.assertEqual(status, 401, "/metrics")
        # A token that is not one of the issuer's is no better than none.
        rp.TOKEN = ISSUER.token() + "x"
        self.assertEqual(rp.get_all_server(), (None, rp.UNAUTHENTICATED))
        # With the admin's token the same calls pass, and nothing was written without it.
        rp.TOKEN = ISSUER.token()
        self.assert_not_found(rp.get_server_by_ip(ip=ip))
        self.ok(rp.add_server(ip), "add_server with the token")
        self.get_ok(rp.get_all_server(), "get_all_server with the token")
        # The health probes and the document stay open.
        for path in ("/healthz", "/readyz", "/openapi.json"):
            status, _, _ = raw_request(self.service.url + path)
            self.assertEqual(status, 200, path)

    def test_the_token_comes_from_the_environment_too(self):
        saved = os.environ.get(rp.TOKEN_ENV)
        self.addCleanup(lambda: os.environ.__setitem__(rp.TOKEN_ENV, saved) if saved is not None
                        else os.environ.pop(rp.TOKEN_ENV, None))
        rp.TOKEN = None
        os.environ[rp.TOKEN_ENV] = ISSUER.token()
        self.get_ok(rp.get_all_server(count=1), "token from $DCP_RESOURCE_POOL_TOKEN")
        os.environ.pop(rp.TOKEN_ENV)
        self.assertEqual(rp.get_all_server(count=1), (None, rp.UNAUTHENTICATED))

    def test_a_viewer_reads_but_may_not_write(self):
        username = "rp-viewer-%s" % uuid.uuid4().hex[:8]
        rp.TOKEN = ISSUER.add_user(username, "viewer-password", role="user")
        ip = self.ip()
        self.get_ok(rp.get_all_server(count=1), "a viewer's read")
        self.assert_code(rp.add_server(ip), rp.FORBIDDEN, "a viewer's write")
        self.assert_code(rp.probe_instance(ip)[1], rp.FORBIDDEN, "a viewer's probe")
        status, _, body = raw_request(self.service.url + "/api/add_server?ip=" + ip, data=b"", method="POST",
                                      token=rp.TOKEN)
        reply = json.loads(body)
        self.assertEqual((status, reply["code"], reply["result"]), (403, rp.FORBIDDEN, None))
        rp.TOKEN = ISSUER.token()
        self.assert_not_found(rp.get_server_by_ip(ip=ip))

    def test_the_audit_log_records_the_tokens_subject(self):
        ip = self.ip()
        self.ok(rp.add_server(ip, model="pytest-model"))
        entries = self.get_ok(rp.audit_log(ip=ip))["entries"]
        self.assertEqual([(e["who"], e["model"]) for e in entries], [(Issuer.ADMIN, "pytest-model")])
        mine = self.get_ok(rp.audit_log(who=Issuer.ADMIN, ip=ip))["entries"]
        self.assertEqual([e["id"] for e in mine], [entries[0]["id"]])
        self.assertEqual(self.get_ok(rp.audit_log(who="someone-else", ip=ip))["entries"], [])


class SqliteInventoryTests(_InventorySuite, unittest.TestCase):
    """The suite against a fresh SQLite database."""

    @classmethod
    def database_url(cls, workdir):
        return "sqlite://%s" % os.path.join(workdir, "rp.db")


class MysqlInventoryTests(_InventorySuite, unittest.TestCase):
    """The suite again against the MySQL database of $DCP_PY_TEST_MYSQL_URL (skipped if unset)."""

    @classmethod
    def setUpClass(cls):
        cls.mysql = mysql_database_or_skip()
        super().setUpClass()

    @classmethod
    def database_url(cls, workdir):
        return cls.mysql.url

    @classmethod
    def service_env(cls):
        # probe_instance logs in with these; use the test database's own account.
        return {"DCP_PROBE__USER": cls.mysql.user, "DCP_PROBE__PASSWORD": cls.mysql.password}

    def test_probe_of_the_test_mysql_reports_its_version(self):
        try:
            import ipaddress
            host = str(ipaddress.ip_address(self.mysql.host))
        except ValueError:
            self.skipTest("the MySQL host %s is not an IP address" % self.mysql.host)
        code = rp.add_instance(host, self.mysql.port)
        self.assertIn(code, (rp.SUCCESS, rp.DUPLICATE), rp.last_error())
        report = self.get_ok(rp.probe_instance(host, self.mysql.port))
        self.assertIs(report["reachable"], True, report)
        self.assertTrue(report["version"])
        self.assertIsNone(report["error"])
        self.assertIsInstance(report["uptime_seconds"], int)


class ProcessLifecycleTests(unittest.TestCase):
    """The binary itself: configuration errors at start, and a clean stop on SIGTERM / SIGINT."""

    def run_binary(self, env_overrides):
        env = dict(os.environ, DCP_HTTP__BIND="127.0.0.1:0")
        env.update(env_overrides)
        workdir = tempfile.mkdtemp(prefix="rp-config-")
        self.addCleanup(shutil.rmtree, workdir, True)
        return subprocess.run([resource_pool_binary()], cwd=workdir, env=env, capture_output=True, timeout=30)

    def test_a_bad_setting_stops_the_start_and_names_the_key(self):
        for key, value, named in [
            ("DCP_HTTP__BIND", "not-an-address", "http.bind"),
            ("DCP_DATABASE__URL", "postgres://db/x", "database.url"),
            ("DCP_DATABASE__POOL_SIZE", "0", "database.pool_size"),
            ("DCP_LOG__FORMAT", "xml", "log.format"),
        ]:
            done = self.run_binary(dict(ISSUER.auth_env(), **{key: value}))
            self.assertNotEqual(done.returncode, 0, key)
            self.assertIn(named, done.stderr.decode("utf-8", "replace"), key)

    def test_without_auth_it_refuses_to_start(self):
        workdir = tempfile.mkdtemp(prefix="rp-noauth-")
        self.addCleanup(shutil.rmtree, workdir, True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("DCP_AUTH__")}
        env.update({"DCP_HTTP__BIND": "127.0.0.1:0", "DCP_DATABASE__URL": "sqlite://%s/rp.db" % workdir})
        done = subprocess.run([resource_pool_binary()], cwd=workdir, env=env, capture_output=True, timeout=30)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("auth", done.stderr.decode("utf-8", "replace"))

    def test_sigterm_and_sigint_stop_the_service_cleanly(self):
        rp.TOKEN = ISSUER.token()
        self.addCleanup(setattr, rp, "TOKEN", None)
        for sig in (signal.SIGTERM, signal.SIGINT):
            workdir = tempfile.mkdtemp(prefix="rp-stop-")
            self.addCleanup(shutil.rmtree, workdir, True)
            service = Service("sqlite://%s/rp.db" % workdir)
            self.addCleanup(service.cleanup)
            service.start()
            os.environ["DCP_RESOURCE_POOL_URL"] = service.url
            self.addCleanup(os.environ.pop, "DCP_RESOURCE_POOL_URL", None)
            self.assertEqual(rp.add_server("10.99.0.1"), 0)
            service.process.send_signal(sig)
            self.assertEqual(service.process.wait(timeout=20), 0, "exit status after %s" % sig.name)
            service.stop()
            # What was written before the stop is there after a restart.
            again = Service("sqlite://%s/rp.db" % workdir)
            self.addCleanup(again.cleanup)
            again.start()
            self.addCleanup(again.stop)
            os.environ["DCP_RESOURCE_POOL_URL"] = again.url
            result, code = rp.get_server_by_ip(ip="10.99.0.1")
            self.assertEqual((code, result["ip"]), (0, "10.99.0.1"))


class _Canned(http.server.BaseHTTPRequestHandler):
    """Answers every POST with the class's canned status, content type and body."""

    status = 502
    content_type = "text/html"
    body = b"<html><body>Bad Gateway</body></html>"

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(self.status)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


class ClientTransportTests(unittest.TestCase):
    """What the module does when the service is not there or does not answer JSON (no service needed)."""

    def setUp(self):
        self._saved_url = os.environ.get(rp.URL_ENV)
        self._saved_timeout = rp.TIMEOUT
        self._saved_token = rp.TOKEN

    def tearDown(self):
        if self._saved_url is None:
            os.environ.pop(rp.URL_ENV, None)
        else:
            os.environ[rp.URL_ENV] = self._saved_url
        rp.TIMEOUT = self._saved_timeout
        rp.TOKEN = self._saved_token

    def all_seed_calls(self):
        ip = "10.9.8.7"
        return [
            ("get_all_instance", lambda: rp.get_all_instance(), True),
            ("get_all_server", lambda: rp.get_all_server(), True),
            ("get_all_db", lambda: rp.get_all_db(), True),
            ("get_instance", lambda: rp.get_instance(ip=ip), True),
            ("get_database_by_name_instance", lambda: rp.get_database_by_name_instance(ip=ip, db="d"), True),
            ("get_server_by_ip", lambda: rp.get_server_by_ip(ip=ip), True),
            ("add_server", lambda: rp.add_server(ip), False),
            ("mod_server", lambda: rp.mod_server(ip, server_name="x"), False),
            ("del_server", lambda: rp.del_server(ip), False),
            ("add_instance", lambda: rp.add_instance(ip, 3306), False),
            ("mod_instance", lambda: rp.mod_instance(ip, 3306, instance_name="x"), False),
            ("del_instance", lambda: rp.del_instance(ip, 3306), False),
            ("add_database", lambda: rp.add_database("d", ip, 3306), False),
            ("mod_database", lambda: rp.mod_database(ip, 3306, "d", database_level="x"), False),
            ("del_database", lambda: rp.del_database(ip, 3306, "d"), False),
            ("audit_log", lambda: rp.audit_log(), True),
            ("probe_instance", lambda: rp.probe_instance(ip), True),
        ]

    def assert_every_call_gives(self, expected):
        for name, call, returns_pair in self.all_seed_calls():
            answer = call()  # must not raise
            if returns_pair:
                self.assertEqual(answer, (None, expected), name)
            else:
                self.assertIs(type(answer), int, name)
                self.assertEqual(answer, expected, name)
            self.assertTrue(rp.last_error(), name)
            self.assertIsNone(rp.last_result(), name)

    def test_dead_url_gives_code_5_without_raising(self):
        os.environ[rp.URL_ENV] = "http://127.0.0.1:%d" % closed_port()
        self.assert_every_call_gives(rp.UNAVAILABLE)
        self.assertIn("unreachable", rp.last_error())

    def test_unresolvable_or_malformed_url_gives_code_5(self):
        for url in ("http://no-such-host.invalid:8001", "not a url at all"):
            os.environ[rp.URL_ENV] = url
            result, code = rp.get_all_server()
            self.assertEqual((result, code), (None, rp.UNAVAILABLE), url)

    def test_timeout_gives_code_5(self):
        # A listening socket that never accepts: the connection queues and no answer ever comes.
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(1)
            os.environ[rp.URL_ENV] = "http://127.0.0.1:%d" % silent.getsockname()[1]
            rp.TIMEOUT = 0.5
            started = time.monotonic()
            self.assertEqual(rp.get_all_server(), (None, rp.UNAVAILABLE))
            self.assertLess(time.monotonic() - started, 5)

    def test_timeout_comes_from_the_environment(self):
        saved = os.environ.get(rp.TIMEOUT_ENV)
        try:
            os.environ[rp.TIMEOUT_ENV] = "2.5"
            self.assertEqual(rp._timeout(), 2.5)
            os.environ[rp.TIMEOUT_ENV] = "junk"
            self.assertEqual(rp._timeout(), rp.DEFAULT_TIMEOUT)
            os.environ.pop(rp.TIMEOUT_ENV)
            self.assertEqual(rp._timeout(), rp.DEFAULT_TIMEOUT)
            rp.TIMEOUT = 1
            self.assertEqual(rp._timeout(), 1.0)
        finally:
            if saved is None:
                os.environ.pop(rp.TIMEOUT_ENV, None)
            else:
                os.environ[rp.TIMEOUT_ENV] = saved

    def test_default_url(self):
        os.environ.pop(rp.URL_ENV, None)
        self.assertEqual(rp.base_url(), "http://127.0.0.1:8001")
        os.environ[rp.URL_ENV] = "http://10.1.2.3:9000/"
        self.assertEqual(rp.base_url(), "http://10.1.2.3:9000")

    def canned_server(self, status, content_type, body):
        handler = type("Handler", (_Canned,), {"status": status, "content_type": content_type, "body": body})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 5)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        os.environ[rp.URL_ENV] = "http://127.0.0.1:%d" % server.server_address[1]

    def test_non_json_answer_gives_code_6(self):
        self.canned_server(502, "text/html", b"<html><body>Bad Gateway</body></html>")
        self.assert_every_call_gives(rp.INTERNAL)
        self.assertIn("not a JSON answer", rp.last_error())

    def test_json_that_is_not_the_envelope_gives_code_6(self):
        self.canned_server(200, "application/json", b'{"hello": "world"}')
        self.assertEqual(rp.get_all_server(), (None, rp.INTERNAL))
        self.assertEqual(rp.add_server("10.0.0.1"), rp.INTERNAL)

    def test_error_envelopes_pass_through(self):
        body = json.dumps({"code": 4, "msg": "still in use", "result": None}).encode()
        self.canned_server(409, "application/json", body)
        self.assertEqual(rp.del_server("10.0.0.1"), rp.IN_USE)
        self.assertEqual(rp.last_error(), "still in use")


if __name__ == "__main__":
    unittest.main()
