"""Tests of the Python client `cmdb` against the real cmdb service.

Run from the repository root:

    python3 -m unittest discover -s clients/python -p 'test_cmdb.py' -v

The service binary is `$CMDB_BIN`, else `$CARGO_TARGET_DIR/debug/cmdb`, else
`<repo>/target/debug/cmdb` (build it with `cargo build -p cmdb`). The suite starts it on a
free port with a fresh SQLite database and no admin key configured, so the service generates
the admin's key and secret and writes them to its credentials file, which the suite reads as
an operator would.

When `$DCP_PY_TEST_MYSQL_URL` is set (for example
`mysql://root@127.0.0.1:3306/dcp_pytest_cmdb`), the same suite runs again against that
MySQL/MariaDB database, which the service creates; it is dropped afterwards if it did not
exist before (dropping uses the `mysql` command-line client). Without it, the MySQL run is
skipped.
"""

import hashlib
import json
import os
import queue
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import cmdb  # noqa: E402

START_TIMEOUT = 30.0
MYSQL_ENV = "DCP_PY_TEST_MYSQL_URL"
LISTENING = re.compile(r"cmdb listening on (http://\S+)")


def service_binary():
    explicit = os.environ.get("CMDB_BIN", "").strip()
    if explicit:
        return os.path.abspath(explicit)
    target = os.environ.get("CARGO_TARGET_DIR", "").strip()
    if target:
        return os.path.abspath(os.path.join(target, "debug", "cmdb"))
    return os.path.join(REPO, "target", "debug", "cmdb")


class Service:
    """The cmdb binary on 127.0.0.1:0 with a fresh SQLite database in a temporary folder."""

    def __init__(self, extra_env=None):
        self.workdir = tempfile.mkdtemp(prefix="cmdb-service-")
        self.credentials = os.path.join(self.workdir, "admin.json")
        self.extra_env = extra_env or {}
        self.process = None
        self.url = None
        self._lines = queue.Queue()
        self._stderr = None

    def start(self):
        binary = service_binary()
        if not os.path.isfile(binary):
            raise RuntimeError(
                "cmdb binary not found at %s: build it with `cargo build -p cmdb` or set CMDB_BIN" % binary
            )
        env = dict(os.environ)
        for name in list(env):
            if name.startswith("DCP_"):
                del env[name]
        env.update({
            "DCP_HTTP__BIND": "127.0.0.1:0",
            "DCP_DATABASE__URL": "sqlite://" + os.path.join(self.workdir, "cmdb.db"),
            "DCP_AUTH__CREDENTIALS_FILE": self.credentials,
        })
        env.update(self.extra_env)
        self._stderr = open(os.path.join(self.workdir, "stderr.log"), "wb")
        self.process = subprocess.Popen(
            [binary], cwd=self.workdir, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=self._stderr,
        )
        reader = threading.Thread(target=self._read_stdout, daemon=True)
        reader.start()
        deadline = time.monotonic() + START_TIMEOUT
        while self.url is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (self.process.poll() is not None and self._lines.empty()):
                self.stop()
                raise RuntimeError("cmdb did not start; its stderr:\n" + self.stderr_text())
            try:
                line = self._lines.get(timeout=min(remaining, 0.2))
            except queue.Empty:
                continue
            found = LISTENING.search(line)
            if found:
                self.url = found.group(1).rstrip("/")
        return self.url

    def _read_stdout(self):
        for raw in iter(self.process.stdout.readline, b""):
            self._lines.put(raw.decode("utf-8", "replace"))
        self.process.stdout.close()

    def stderr_text(self):
        try:
            with open(os.path.join(self.workdir, "stderr.log"), encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def cleanup(self):
        shutil.rmtree(self.workdir, ignore_errors=True)


class MysqlDatabase:
    """The database named by DCP_PY_TEST_MYSQL_URL, handled with the `mysql` CLI."""

    def __init__(self, url):
        self.url = url
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "mysql":
            raise ValueError("%s must be a mysql:// URL, not %r" % (MYSQL_ENV, url))
        self.user = urllib.parse.unquote(parts.username or "root")
        self.password = urllib.parse.unquote(parts.password or "")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 3306
        self.name = parts.path.lstrip("/")
        if not re.fullmatch(r"[A-Za-z0-9_]{1,64}", self.name):
            raise ValueError("%s must name a database of letters, digits and _: %r" % (MYSQL_ENV, url))
        # None: unknown, so the database is left alone afterwards.
        self.existed_before = None

    def _mysql(self, sql):
        env = dict(os.environ)
        if self.password:
            env["MYSQL_PWD"] = self.password
        command = ["mysql", "-u", self.user, "-h", self.host, "-P", str(self.port), "-N", "-B", "-e", sql]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)

    def check_existence(self):
        if shutil.which("mysql") is None:
            return
        done = self._mysql(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '%s'" % self.name
        )
        if done.returncode == 0:
            self.existed_before = bool(done.stdout.strip())

    def drop(self):
        # Only a database this run created is dropped: another one may hold someone's data.
        if self.existed_before is not False:
            sys.stderr.write(
                "note: not dropping MySQL database %s (it existed before the run, or the mysql CLI "
                "could not tell)\n" % self.name
            )
            return
        done = self._mysql("DROP DATABASE IF EXISTS `%s`" % self.name)
        if done.returncode != 0:
            sys.stderr.write("warning: could not drop MySQL database %s: %s\n" % (self.name, done.stderr.strip()))


def raw_request(url, method, path, params, json_body=False):
    """A request built by hand (no client): returns (status, decoded body)."""
    full = url + urllib.parse.quote(cmdb.API + path, safe="/")
    data = None
    headers = {}
    if method == "GET":
        full += "?" + urllib.parse.urlencode(params)
    elif json_body:
        data = json.dumps(params).encode("utf-8")
        headers["Content-Type"] = "application/json"
    else:
        data = urllib.parse.urlencode(params).encode("utf-8")
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    req = urllib.request.Request(full, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read().decode("utf-8"))
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode("utf-8"))


class _SigningSuite:
    """Signing, refusals and errors through the client; run once per backend below."""

    @classmethod
    def service_env(cls):
        return {}

    @classmethod
    def setUpClass(cls):
        cls.service = Service(extra_env=cls.service_env())
        cls.service.start()
        with open(cls.service.credentials, encoding="utf-8") as f:
            cls.admin_credentials = json.load(f)
        cls.admin = cmdb.Client(
            cls.service.url, cls.admin_credentials["api_key"], cls.admin_credentials["secret"]
        )
        cls.admin.add_attribute("hostname", attr_alias="主机名", is_uniq=True)
        cls.admin.add_attribute("cpu_core_num", value_type="int")
        cls.admin.add_attribute("nic", is_multivalue=True)
        cls.type_id = cls.admin.add_citype("server", unique="hostname")["type_id"]
        ids = [cls.admin.attribute(n)["attribute"]["attr_id"] for n in ("cpu_core_num", "nic")]
        cls.admin.bind_attributes(cls.type_id, ids)

    @classmethod
    def tearDownClass(cls):
        cls.service.stop()
        cls.service.cleanup()

    def assert_refused(self, status, call, *args, **kwargs):
        with self.assertRaises(cmdb.CmdbError) as caught:
            call(*args, **kwargs)
        self.assertEqual(caught.exception.status, status, caught.exception.message)
        return caught.exception.message

    def test_signature_is_sha1_of_path_secret_and_values_sorted_by_name(self):
        params = {"b": "2", "a": "1", "_key": "k", "c": ""}
        expected = hashlib.sha1("/api/v0.1/ci".encode() + b"s3cr3t" + b"12").hexdigest()
        self.assertEqual(cmdb.sign("/api/v0.1/ci", "s3cr3t", params), expected)

    def test_operator_reads_generated_admin_credentials_from_a_private_file(self):
        mode = stat.S_IMODE(os.stat(self.service.credentials).st_mode)
        self.assertEqual(mode, 0o600)
        self.assertEqual(self.admin_credentials["username"], "admin")
        self.assertRegex(self.admin_credentials["api_key"], r"^[0-9a-f]{32}$")
        self.assertRegex(self.admin_credentials["secret"], r"^[0-9a-f]{40}$")

    def test_signed_writes_pass(self):
        ci_id = self.admin.add_ci("server", hostname="py-01", cpu_core_num=8, nic=["eth0", "eth1"])["ci_id"]
        self.admin.update_ci("server", hostname="py-01", cpu_core_num=16)
        ci = self.admin.ci(ci_id)["ci"]
        self.assertEqual(ci["cpu_core_num"], 16)
        self.assertEqual(ci["nic"], ["eth0", "eth1"])
        found = self.admin.search("cpu_core_num:>=16,hostname:py-*", fl="hostname")
        self.assertEqual([c["hostname"] for c in found["result"]], ["py-01"])
        # A path with non-ASCII characters is signed over its decoded form.
        self.assertEqual(self.admin.attribute("主机名")["attribute"]["attr_name"], "hostname")
        self.assertEqual(self.admin.delete_ci(ci_id)["message"], "ok")

    def test_unsigned_writes_get_401(self):
        unsigned = cmdb.Client(self.service.url, key="", secret="")
        message = self.assert_refused(401, unsigned.add_ci, "server", hostname="nope")
        self.assertIn("_key", message)
        status, body = raw_request(self.service.url, "POST", "/ci", {"ci_type": "server", "hostname": "nope"})
        self.assertEqual(status, 401)
        self.assertIn("_key", body["message"])
        self.assertEqual(self.admin.search("hostname:nope")["numfound"], 0)

    def test_mis_signed_writes_get_401(self):
        wrong = cmdb.Client(self.service.url, self.admin_credentials["api_key"], "not-the-secret")
        message = self.assert_refused(401, wrong.add_ci, "server", hostname="forged")
        self.assertIn("_secret", message)
        unknown = cmdb.Client(self.service.url, "no-such-key", "x")
        self.assertIn("_key", self.assert_refused(401, unknown.add_ci, "server", hostname="forged"))
        # Tampering with a value after signing breaks the signature.
        params = self.admin.prepare("/ci", {"ci_type": "server", "hostname": "signed"})
        params["hostname"] = "tampered"
        status, body = raw_request(self.service.url, "POST", "/ci", params)
        self.assertEqual(status, 401, body)
        # Signing another path does not sign this one.
        params = self.admin.prepare("/attributes", {"ci_type": "server", "hostname": "moved"})
        status, _ = raw_request(self.service.url, "POST", "/ci", params)
        self.assertEqual(status, 401)
        self.assertEqual(self.admin.search("hostname:(forged;tampered;moved)")["numfound"], 0)

    def test_a_signed_json_body_passes(self):
        params = {"ci_type": "server", "hostname": "json-01", "cpu_core_num": 4}
        text = {k: str(v) for k, v in params.items()}
        text["_key"] = self.admin_credentials["api_key"]
        params["_key"] = text["_key"]
        params["_secret"] = cmdb.sign("/api/v0.1/ci", self.admin_credentials["secret"], text)
        status, body = raw_request(self.service.url, "POST", "/ci", params, json_body=True)
        self.assertEqual(status, 200, body)
        self.assertEqual(self.admin.ci(body["ci_id"])["ci"]["cpu_core_num"], 4)

    def test_signed_reads_and_timestamps(self):
        self.assertGreaterEqual(self.admin.attributes()["numfound"], 3)
        unsigned = cmdb.Client(self.service.url, key="", secret="")
        self.assert_refused(401, unsigned.attributes)
        stamped = cmdb.Client(
            self.service.url, self.admin_credentials["api_key"], self.admin_credentials["secret"], timestamps=True
        )
        self.assertGreaterEqual(stamped.attributes()["numfound"], 3)
        stale = self.admin.prepare("/attributes", {"_ts": 1000000})
        status, body = raw_request(self.service.url, "GET", "/attributes", stale)
        self.assertEqual(status, 401)
        self.assertIn("_ts", body["message"])

    def test_users_without_the_right_get_403(self):
        user = self.admin.create_user("py-user")
        self.assertEqual(self.admin.user("py-user")["api_key"], user["api_key"])
        as_user = cmdb.Client(self.service.url, user["api_key"], user["secret"])
        self.assertIn("py-user", self.assert_refused(403, as_user.add_attribute, "x"))
        ci_id = as_user.add_ci("server", hostname="user-made")["ci_id"]
        record = self.admin.history(username="py-user")["records"][0]
        detail = self.admin.history_record(record["record_id"])
        self.assertEqual(detail["username"], "py-user")
        self.assertIn(str(ci_id), detail["attr_history"])

    def test_errors_carry_the_seed_envelope(self):
        message = self.assert_refused(400, self.admin.search, "colour:red")
        self.assertIn("colour", message)
        self.assert_refused(404, self.admin.ci, 999999)


class SigningTest(_SigningSuite, unittest.TestCase):
    """The suite against a fresh SQLite database (the service's default here)."""


class MysqlSigningTest(_SigningSuite, unittest.TestCase):
    """The suite again against the MySQL database of $DCP_PY_TEST_MYSQL_URL (skipped if unset)."""

    @classmethod
    def setUpClass(cls):
        url = os.environ.get(MYSQL_ENV, "").strip()
        if not url:
            raise unittest.SkipTest("%s is not set" % MYSQL_ENV)
        cls.mysql = MysqlDatabase(url)
        cls.mysql.check_existence()
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
