"""Tests of the Python client `cmdb` against the real cmdb service.

Run from the repository root:

    python3 -m unittest discover -s clients/python -p 'test_cmdb.py' -v

The service binary is `$CMDB_BIN`, else `$CARGO_TARGET_DIR/debug/cmdb`, else
`<repo>/target/debug/cmdb` (build it with `cargo build -p cmdb`). The suite starts it on a
free port with a fresh SQLite database and no admin key configured, so the service generates
the admin's key and secret and writes them to its credentials file, which the suite reads as
an operator would. It trusts a real cloud-portal started once for this module as the
platform's token issuer (`dcp_testing.Issuer`, binary `$CLOUD_PORTAL_BIN` or the same target
folder's `cloud-portal`), so that the client's bearer tokens are tested beside its signing.

When `$DCP_PY_TEST_MYSQL_URL` is set (for example
`mysql://root@127.0.0.1:3306/dcp_pytest_cmdb`), the same suite runs again against that
MySQL/MariaDB database, which the service creates; it is dropped afterwards if it did not
exist before (dropping uses the `mysql` command-line client). Without it, the MySQL run is
skipped.
"""

import hashlib
import json
import os
import stat
import sys
import unittest
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import cmdb  # noqa: E402
from dcp_testing import CmdbService, Issuer, http_request, mysql_database_or_skip  # noqa: E402

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


def Service(extra_env=None):
    """cmdb trusting the module's issuer."""
    return CmdbService(ISSUER, extra_env)


def raw_request(url, method, path, params, json_body=False, token=None):
    """A request built by hand (no client): returns (status, decoded body)."""
    full = url + urllib.parse.quote(cmdb.API + path, safe="/")
    return http_request(full, method, params, json_body, timeout=10, token=token)


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
        unsigned = cmdb.Client(self.service.url, key="", secret="", token="")
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
        unsigned = cmdb.Client(self.service.url, key="", secret="", token="")
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

    # ---- bearer tokens ----

    def test_a_bearer_token_replaces_the_signature(self):
        bearer = cmdb.Client(self.service.url, key="", secret="", token=ISSUER.token())
        self.assertNotIn("_secret", bearer.prepare("/ci", {"ci_type": "server"}))
        ci_id = bearer.add_ci("server", hostname="token-01", cpu_core_num=2)["ci_id"]
        self.assertEqual(bearer.ci(ci_id)["ci"]["hostname"], "token-01")
        self.assertGreaterEqual(bearer.attributes()["numfound"], 3)
        # The history names the token's subject.
        records = self.admin.history(username=Issuer.ADMIN, page_size=100)["records"]
        details = [self.admin.history_record(r["record_id"]) for r in records]
        self.assertTrue(details, "no history record of %s" % Issuer.ADMIN)
        self.assertTrue(all(d["username"] == Issuer.ADMIN for d in details))
        self.assertTrue(any(str(ci_id) in str(d["attr_history"]) for d in details), details)
        bearer.delete_ci(ci_id)

    def test_a_token_the_issuer_did_not_sign_gets_401(self):
        forged = cmdb.Client(self.service.url, key="", secret="", token=ISSUER.token() + "x")
        self.assert_refused(401, forged.attributes)
        self.assert_refused(401, forged.add_ci, "server", hostname="forged-token")
        # A token is checked even when a valid signature comes with it.
        params = self.admin.prepare("/ci", {"ci_type": "server", "hostname": "forged-token"})
        status, _ = raw_request(self.service.url, "POST", "/ci", params, token="not-a-jwt")
        self.assertEqual(status, 401)
        self.assertEqual(self.admin.search("hostname:forged-token")["numfound"], 0)

    def test_a_viewer_token_reads_but_may_not_write(self):
        token = ISSUER.add_user("cmdb-viewer-%s" % uuid.uuid4().hex[:8], "viewer-password")
        viewer = cmdb.Client(self.service.url, key="", secret="", token=token)
        self.assertGreaterEqual(viewer.attributes()["numfound"], 3)
        self.assert_refused(403, viewer.add_ci, "server", hostname="viewer-made")
        self.assert_refused(403, viewer.add_attribute, "viewer_attr")
        self.assertEqual(self.admin.search("hostname:viewer-made")["numfound"], 0)

    def test_the_token_comes_from_the_environment_too(self):
        saved = os.environ.get("DCP_CMDB_TOKEN")
        os.environ["DCP_CMDB_TOKEN"] = ISSUER.token()
        try:
            client = cmdb.Client(self.service.url, key="", secret="")
            signed = cmdb.Client(self.service.url, key="", secret="", token="")
        finally:
            if saved is None:
                os.environ.pop("DCP_CMDB_TOKEN", None)
            else:
                os.environ["DCP_CMDB_TOKEN"] = saved
        self.assertGreaterEqual(client.attributes()["numfound"], 3)
        self.assert_refused(401, signed.attributes)

    def test_errors_carry_the_seed_envelope(self):
        message = self.assert_refused(400, self.admin.search, "colour:red")
        self.assertIn("colour", message)
        self.assert_refused(404, self.admin.ci, 999999)

    def test_what_already_exists_is_a_400_not_a_server_error(self):
        message = self.assert_refused(400, self.admin.add_attribute, "hostname")
        self.assertIn("already exists", message)
        self.admin.add_ci("server", hostname="py-taken")
        message = self.assert_refused(400, self.admin.add_ci, "server", hostname="py-taken")
        self.assertIn("`py-taken` already exists", message)


class SigningTest(_SigningSuite, unittest.TestCase):
    """The suite against a fresh SQLite database (the service's default here)."""


class MysqlSigningTest(_SigningSuite, unittest.TestCase):
    """The suite again against the MySQL database of $DCP_PY_TEST_MYSQL_URL (skipped if unset)."""

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
