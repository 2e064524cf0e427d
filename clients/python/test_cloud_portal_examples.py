"""The seed's example clients (cloud-portal-api.rst), ported to Python 3, against the real service.

Run from the repository root:

    python3 -m unittest discover -s clients/python -v

The service binary is `$CLOUD_PORTAL_BIN`, else `$CARGO_TARGET_DIR/debug/cloud-portal`, else
`<repo>/target/debug/cloud-portal` (build it with `cargo build -p cloud-portal`). The suite starts it
on a free port with a fresh SQLite database and the embedded default configuration, whose demo data
(user luoyun/luoyun, instances 1 and 2, hosts on 127.0.0.2-4) is what the seed's examples expect.
The examples run as separate processes, exactly as a user would run them; only the host (with its
port) and the session key come from the environment ($LYC_HOST, $LYC_SESSION_KEY).
When `$DCP_PY_TEST_MYSQL_URL` is set (e.g. `mysql://root@127.0.0.1:3306/dcp_pytest_1234`), the suite
runs again on MySQL, in a database of that name plus `_cp_<random>`, which the service creates and
the suite drops at the end with the `mysql` command-line client. Without it, that run is skipped.
Standard library only.
"""

import json
import os
import re
import subprocess
import sys
import unittest
import uuid
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
EXAMPLES = os.path.join(HERE, "cloud_portal_examples")
from dcp_testing import ServiceProcess, http_request  # noqa: E402

SESSION_KEY = re.compile(r"^[0-9a-f]{40}$")


ADMIN_PASSWORD = "examples-admin-password"


class Service(ServiceProcess):
    """cloud-portal on a free port, with a fresh SQLite database in a temporary folder."""

    def __init__(self, database_url=None):
        super().__init__("cloud-portal", "CLOUD_PORTAL_BIN")
        self.database_url = database_url or "sqlite://" + os.path.join(self.workdir, "cloud-portal.db")
        self.env["DCP_DATABASE__URL"] = self.database_url
        # Cheaper password hashes keep a debug build quick; everything else is the default.
        self.env["DCP_PASSWORD_HASH__MEMORY_KIB"] = "1024"
        # There is no built-in admin password: the test chooses one.
        self.env["DCP_ADMIN__PASSWORD"] = ADMIN_PASSWORD

    def start(self):
        super().start()
        return self.address

    def stop(self):
        super().stop()
        self.cleanup()


class _SeedExamples:
    """The scenarios; the subclasses choose the database."""

    @classmethod
    def database_url(cls):
        return None  # SQLite in the service's temporary folder

    @classmethod
    def setUpClass(cls):
        cls.service = Service(cls.database_url())
        try:
            cls.address = cls.service.start()
        except Exception:
            cls.service.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.service.stop()

    def run_example(self, script, *args, session_key=None):
        env = dict(os.environ)
        env["LYC_HOST"] = self.address
        if session_key is not None:
            env["LYC_SESSION_KEY"] = session_key
        done = subprocess.run(
            [sys.executable, os.path.join(EXAMPLES, script)] + list(args),
            env=env, capture_output=True, timeout=30,
        )
        self.assertEqual(done.returncode, 0, done.stderr.decode())
        return json.loads(done.stdout.decode())

    def login(self):
        answer = self.run_example("t_post.py")
        return answer["session_key"]

    def post(self, path, **params):
        """A plain form POST (for setting the scene, not one of the examples)."""
        url = "http://%s%s" % (self.address, path)
        return http_request(url, "POST", params, json_body=False, timeout=10)[1]

    def test_t_post_logs_in(self):
        answer = self.run_example("t_post.py")
        self.assertEqual(answer["code"], 0)
        self.assertEqual(answer["desc"], "Welcome to LYC.")
        self.assertRegex(answer["session_key"], SESSION_KEY)
        self.assertEqual(set(answer), {"code", "desc", "session_key"})

    def test_get_instance_info_of_my_instance(self):
        answer = self.run_example("get_instance_info.py", "1", session_key=self.login())
        self.assertEqual(answer, {
            "code": 0,
            "desc": "Information about openerp7 img gz",
            "instance_id": 1,
            "vdi_type": 1,
            "host": "127.0.0.2",
            "port": None,
        })

    def test_get_instance_info_of_someone_elses_instance(self):
        # The admin of the default configuration makes instances 3, 4 and 5 for itself.
        admin = self.post("/api/login", username="admin", password=ADMIN_PASSWORD)["session_key"]
        ids = [self.post("/api/instance/create", session_key=admin, image_id=1, name="admin-vm")
               for _ in range(3)]
        self.assertEqual([i["instance"]["id"] for i in ids], [3, 4, 5])
        answer = self.run_example("get_instance_info.py", "5", session_key=self.login())
        self.assertEqual(answer, {"code": 1, "desc": "Instance 5 is someone else's"})
        for vm in ids:
            self.post("/api/instance/delete", session_key=admin, instance_id=vm["instance"]["id"])

    def test_get_instance_info_without_a_session(self):
        # The seed's own hard-coded key opens no session here.
        answer = self.run_example("get_instance_info.py", "1")
        self.assertEqual(answer, {"code": 2, "desc": "Requires authentication"})

    def test_get_instance_info_of_an_unknown_instance(self):
        answer = self.run_example("get_instance_info.py", "2252", session_key=self.login())
        self.assertEqual(answer, {"code": 4, "desc": "Can not find instance 2252"})

    def test_get_my_instances_lists_the_first_two(self):
        answer = self.run_example("get_my_instances.py", session_key=self.login())
        self.assertEqual(answer, {
            "code": 0,
            "desc": "List 2 instances",
            "list": [
                {"id": 1, "name": "openerp7 img gz", "summary": None, "status": 2,
                 "status_string": "instance is stopped"},
                {"id": 2, "name": "gallery3", "summary": None, "status": 1,
                 "status_string": "new instance that hasn't run once"},
            ],
        })


class SqliteSeedExamples(_SeedExamples, unittest.TestCase):
    """The seed's examples against a fresh SQLite database."""


class MysqlSeedExamples(_SeedExamples, unittest.TestCase):
    """The seed's examples against a fresh MySQL database (skipped without $DCP_PY_TEST_MYSQL_URL)."""

    @classmethod
    def setUpClass(cls):
        url = os.environ.get("DCP_PY_TEST_MYSQL_URL", "").strip()
        if not url:
            raise unittest.SkipTest("DCP_PY_TEST_MYSQL_URL is not set")
        parsed = urllib.parse.urlparse(url)
        base = parsed.path.strip("/") or "dcp_pytest"
        cls.db_name = "%s_cp_%s" % (base, uuid.uuid4().hex[:8])
        cls.mysql = parsed
        cls.url = urllib.parse.urlunparse(parsed._replace(path="/" + cls.db_name))
        super().setUpClass()

    @classmethod
    def database_url(cls):
        return cls.url

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        command = ["mysql", "-h", cls.mysql.hostname or "127.0.0.1", "-P", str(cls.mysql.port or 3306),
                   "-u", urllib.parse.unquote(cls.mysql.username or "root")]
        env = dict(os.environ)
        if cls.mysql.password:
            env["MYSQL_PWD"] = urllib.parse.unquote(cls.mysql.password)
        subprocess.run(command + ["-e", "DROP DATABASE IF EXISTS `%s`" % cls.db_name],
                       env=env, capture_output=True, timeout=30)


if __name__ == "__main__":
    unittest.main()
