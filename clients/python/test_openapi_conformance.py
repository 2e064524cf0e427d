"""Every service answers as its own ``/openapi.json`` says: a Schemathesis run per service.

Run from the repository root (the service binaries are the debug builds, as for the other
suites: ``cargo build --bins``):

    python3 -m unittest discover -s clients/python -p 'test_openapi_conformance.py' -v

For each of the six services the test starts the debug binary on 127.0.0.1:0 with a fresh
SQLite database (soa-registry: its embedded store) in a temporary folder, puts a little data
in through the service's own API (so that reads answer real rows and their response schemas
are checked on non-empty data), and runs the ``schemathesis`` CLI over every operation of the
document with three checks:

- ``not_a_server_error``: no 5xx, whatever the input;
- ``status_code_conformance``: every status answered is one the operation documents;
- ``response_schema_conformance``: every body matches the documented schema of its status.

Phases ``examples``, ``coverage`` (boundary and invalid values, deterministic) and
``fuzzing`` (``--max-examples`` cases per operation, ``--seed`` fixed). Values the service
knows (ids, IPs, names of the seeded rows) are offered through Schemathesis dictionaries, so a
share of the generated requests reaches real rows.

Every service requires the platform's bearer tokens: a real cloud-portal, started once for
this module (``dcp_testing.Issuer``), is the issuer the five others trust (``DCP_AUTH__*``;
orchestrator and task-engine also get a service identity of their own, ``DCP_IDENTITY__*``),
and every generated request carries its admin's token (conformance_hooks.py). cloud-portal
under test is its own issuer: its ``/api/*`` requests carry a ``session_key`` as in the seed,
the others a token from its own ``/oauth/token``. The seeding calls authenticate as the seed
does where it can (cmdb's signed api key, soa-registry's ``key``, cloud-portal's session) and
with the admin's token elsewhere.

Budget: ``DCP_CONFORMANCE_MAX_EXAMPLES`` (default 10) fuzzed cases per operation, and each
service's run is killed after ``DCP_CONFORMANCE_TIMEOUT`` seconds (default 150), which fails
the test. A run that tested fewer operations than the document has, or fewer cases than
``MIN_CASES_PER_OPERATION`` per operation, fails too: a run that tests nothing cannot pass.

On a failure the test prints Schemathesis' own account of each failing case (with a curl
line to replay it) and the path of the JSON report.
"""

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from dcp_testing import Issuer, ServiceProcess, http_request  # noqa: E402

CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"
PHASES = "examples,coverage,fuzzing"
SEED = 20261207
MAX_EXAMPLES = int(os.environ.get("DCP_CONFORMANCE_MAX_EXAMPLES", "10"))
TIMEOUT = float(os.environ.get("DCP_CONFORMANCE_TIMEOUT", "150"))
MIN_CASES_PER_OPERATION = 3
# At least this share of the operations must answer 2xx to some case: a run whose credentials
# or seeded values are refused everywhere tests only the refusal.
MIN_SHARE_REACHING_SUCCESS = 1 / 3
# A closed port on loopback: where peers the run must not reach point.
NOWHERE = "http://127.0.0.1:9"
# The service identities the issuer knows (client id -> secret): the peers' [identity].
SERVICE_CLIENTS = {
    "orchestrator": "conformance-orchestrator-secret",
    "task-engine": "conformance-task-engine-secret",
}

# The platform's token issuer of this module: a real cloud-portal (setUpModule).
ISSUER = None


def setUpModule():
    global ISSUER
    if not _schemathesis_available():
        return  # every test skips itself (setUpClass)
    ISSUER = Issuer.started(clients=SERVICE_CLIENTS)


def tearDownModule():
    global ISSUER
    if ISSUER is not None:
        ISSUER.close()
        ISSUER = None


def _schemathesis_available():
    try:
        import schemathesis  # noqa: F401
    except ImportError:
        return False
    return True


def call(url, path, params=None, method="POST", json_body=True, token=None):
    """One request to a service: (HTTP status, decoded JSON body); ``token`` as bearer."""
    return http_request(url + path, method, params, json_body, timeout=30, token=token)


def admin_call(url, path, params=None, method="POST", json_body=True):
    """:func:`call` with the issuer's admin token."""
    return call(url, path, params, method, json_body, token=ISSUER.token())


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(value)


def parameter_types(document):
    """{"<location>.<name>": JSON type} of every parameter of the document (path, query, and
    top-level fields of JSON bodies); "string" where operations disagree."""
    found = {}

    def note(key, schema):
        kind = schema.get("type", "string") if isinstance(schema, dict) else "string"
        if kind not in ("integer", "number", "string"):
            kind = "string"
        if found.get(key, kind) != kind:
            kind = "string"
        found[key] = kind

    for item in document.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                note("%s.%s" % (parameter.get("in"), parameter.get("name")), parameter.get("schema", {}))
            content = operation.get("requestBody", {}).get("content", {})
            for media in content.values():
                properties = media.get("schema", {}).get("properties", {})
                for name, schema in properties.items():
                    note("body." + name, schema)
    return found


def config_text(dictionaries, document):
    """schemathesis.toml: for each parameter named in `dictionaries`, wherever the document
    has one (path, query, top-level body field), its known values offered half the time,
    typed as the parameter is."""
    types = parameter_types(document)
    parameters = []
    tables = []
    for key in sorted(types):
        location, _, name = key.partition(".")
        if name not in dictionaries:
            continue
        kind = types[key]
        values = []
        for value in dictionaries[name]:
            if kind == "string":
                values.append(str(value))
            elif kind == "integer" and str(value).lstrip("-").isdigit():
                values.append(int(value))
            elif kind == "number":
                try:
                    values.append(float(value))
                except ValueError:
                    pass
        if not values:
            continue
        dictionary = "%s_%s" % (location, name)
        parameters.append('"%s" = { dictionary = "%s", probability = 0.5 }' % (key, dictionary))
        tables.append("[dictionaries.%s]\nvalues = %s\n" % (json.dumps(dictionary), toml_value(values)))
    return "\n".join(["[parameters]"] + parameters + [""] + tables)


class Conformance:
    """The run over one service; a subclass says how to start and seed it."""

    service = None
    binary_env = None
    # Extra environment of the run's hooks.
    hook_env = {}

    @classmethod
    def service_env(cls, workdir):
        return {}

    @classmethod
    def token(cls):
        """The bearer token the run's requests carry: the issuer's admin."""
        return ISSUER.token()

    @classmethod
    def start_service(cls, name, binary_env, env_of_workdir, trusts_issuer=True):
        process = ServiceProcess(name, binary_env, clean_env=True)
        if trusts_issuer:
            process.env.update(ISSUER.auth_env())
            if name in SERVICE_CLIENTS:
                process.env.update(ISSUER.identity_env(name, SERVICE_CLIENTS[name]))
        process.env.update(env_of_workdir(process.workdir))
        cls.processes.append(process)
        process.start()
        return process

    @classmethod
    def setUpClass(cls):
        if not _schemathesis_available():
            raise unittest.SkipTest("schemathesis is not installed (make pydeps)")
        cls.processes = []
        try:
            cls.main = cls.start_service(cls.service, cls.binary_env, cls.service_env,
                                         trusts_issuer=cls.service != "cloud-portal")
            cls.dictionaries = cls.seed(cls.main.url)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for process in reversed(cls.processes):
            process.stop()
            process.cleanup()

    @classmethod
    def seed(cls, url):
        """Puts data in; answers the dictionaries: parameter name -> known values."""
        return {}

    def test_every_operation_answers_as_its_document_says(self):
        started = time.monotonic()
        hook_env = dict(self.hook_env, DCP_CONFORMANCE_TOKEN=self.token())
        report = run_schemathesis(self, self.main, self.dictionaries, hook_env)
        elapsed = time.monotonic() - started
        operations = report["operations"]
        cases = report["test_cases"]
        sys.stderr.write(
            "\n%s: %d/%d operations tested, %d answered 2xx to some case, %d cases, "
            "%d with failures, %.1f s\n"
            % (self.service, operations["tested"], operations["total"], report["reached_success"],
               cases["generated"], cases["with_failures"], elapsed)
        )


def run_schemathesis(test, service, dictionaries, hook_env):
    workdir = tempfile.mkdtemp(prefix="conformance-%s-" % test.service)
    config = os.path.join(workdir, "schemathesis.toml")
    document = call(service.url, "/openapi.json", method="GET")[1]
    with open(config, "w", encoding="utf-8") as f:
        f.write(config_text(dictionaries, document))
    reports = os.path.join(workdir, "reports")
    env = dict(os.environ)
    env.update({
        "SCHEMATHESIS_HOOKS": "conformance_hooks",
        "PYTHONPATH": HERE + os.pathsep + env.get("PYTHONPATH", ""),
        "DCP_CONFORMANCE_SERVICE": test.service,
        "DCP_CONFORMANCE_BASE_URL": service.url,
        # Nothing of the run goes out of this machine, nor asks to.
        "SCHEMATHESIS_TELEMETRY": "false",
        "NO_COLOR": "1",
    })
    env.update(hook_env)
    command = [
        sys.executable, "-c", "from schemathesis.cli import schemathesis; schemathesis()",
        "--config-file", config,
        "run", service.url + "/openapi.json",
        "--checks", CHECKS,
        "--phases", PHASES,
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(SEED),
        "--generation-database", "none",
        "--request-timeout", "20",
        "--workers", "1",
        "--report", "json",
        "--report-dir", reports,
        "--continue-on-failure",
        "--no-color",
        "--output-truncate", "false",
    ]
    try:
        done = subprocess.run(
            command, cwd=workdir, env=env, stdin=subprocess.DEVNULL, capture_output=True,
            text=True, timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired as e:
        output = (e.stdout or b"")
        if isinstance(output, bytes):
            output = output.decode("utf-8", "replace")
        test.fail("schemathesis over %s did not finish within %d s (DCP_CONFORMANCE_TIMEOUT); "
                  "its output so far:\n%s" % (test.service, TIMEOUT, output[-20000:]))
    found = glob.glob(os.path.join(reports, "*.json"))
    if not found:
        test.fail("schemathesis over %s wrote no report (exit %d):\n%s\n%s"
                  % (test.service, done.returncode, done.stdout[-20000:], done.stderr[-5000:]))
    with open(found[0], encoding="utf-8") as f:
        report = json.load(f)
    operations = report["operations"]
    cases = report["test_cases"]
    problems = []
    if report["failures"] or cases["with_failures"]:
        problems.append("%d failing cases" % cases["with_failures"])
    if report["errors"] or operations["errored"] or cases["errored"]:
        problems.append("errors: %s" % json.dumps(report["errors"])[:2000])
    if operations["tested"] < operations["total"] or operations["total"] == 0:
        problems.append("only %d of %d operations tested (skipped: %s)"
                        % (operations["tested"], operations["total"], operations["skip_reasons"]))
    minimum = MIN_CASES_PER_OPERATION * operations["total"]
    if cases["generated"] < minimum:
        problems.append("only %d cases generated, fewer than %d" % (cases["generated"], minimum))
    rates = report.get("valid_rates", {})
    reached = [op for op, phases in rates.items()
               if sum(phase.get("accepted", 0) for phase in phases.values()) > 0]
    report["reached_success"] = len(reached)
    if len(reached) < MIN_SHARE_REACHING_SUCCESS * operations["total"]:
        problems.append("only %d of %d operations ever answered 2xx (auth or seed broken?): %s"
                        % (len(reached), operations["total"], sorted(reached)))
    if done.returncode != 0 and not problems:
        problems.append("schemathesis exited with %d" % done.returncode)
    warnings = report.get("warnings", {})
    if warnings.get("dictionary_mismatch"):
        problems.append("seeded values the document's schemas refuse (fix the test's seed): %s"
                        % warnings["dictionary_mismatch"])
    if problems:
        test.fail("%s does not answer as its /openapi.json says: %s\nreport: %s\n\n%s\n%s"
                  % (test.service, "; ".join(problems), found[0], done.stdout[-60000:],
                     done.stderr[-5000:]))
    if not os.environ.get("DCP_CONFORMANCE_KEEP"):
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        sys.stderr.write("\nkept %s\n" % workdir)
    return report


# ---- the six services ----


def expect_ok(test_class, status, body, what):
    if status != 200:
        raise RuntimeError("seeding %s: %s answered %d %s" % (test_class.service, what, status, body))
    return body


class ResourcePoolConformance(Conformance, unittest.TestCase):
    service = "resource-pool"
    binary_env = "RESOURCE_POOL_BIN"

    @classmethod
    def service_env(cls, workdir):
        return {"DCP_DATABASE__URL": "sqlite://" + os.path.join(workdir, "rp.db")}

    @classmethod
    def seed(cls, url):
        # Loopback addresses only: probe_instance connects to an instance's address. Port
        # 3307 is closed, so a probe answers "unreachable" at once.
        for ip in ("127.0.0.2", "127.0.0.3"):
            expect_ok(cls, *admin_call(url, "/api/add_server", {
                "ip": ip, "server_name": "db-" + ip, "server_owner": "dba", "server_os": "linux",
                "server_online": "2024-01-02",
            }), "add_server")
            expect_ok(cls, *admin_call(url, "/api/add_instance", {
                "ip": ip, "port": 3307, "instance_name": "main", "instance_level": "A",
                "instance_owner": "dba", "instance_business": "shop",
            }), "add_instance")
            expect_ok(cls, *admin_call(url, "/api/add_database", {
                "ip": ip, "port": 3307, "db": "orders", "database_owner": "dba",
            }), "add_database")
        return {"ip": ["127.0.0.2", "127.0.0.3"], "port": [3307], "db": ["orders"]}


class SoaRegistryConformance(Conformance, unittest.TestCase):
    service = "soa-registry"
    binary_env = "SOA_REGISTRY_BIN"

    @classmethod
    def service_env(cls, workdir):
        config = os.path.join(workdir, "soa-registry.toml")
        with open(config, "w", encoding="utf-8") as f:
            f.write('[zkidcs]\nqa = "embedded"\ng1 = "embedded"\n\n'
                    '[[keys]]\nkey = "conformance-key"\nowner = "conformance"\n')
        return {
            "DCP_CONFIG": config,
            "DCP_STORE__DATA_DIR": os.path.join(workdir, "store"),
        }

    @classmethod
    def seed(cls, url):
        key = "conformance-key"
        for zkidc in ("qa", "g1"):
            expect_ok(cls, *call(url, "/addservice/", {"key": key, "zkidc": zkidc, "destName": "shop"}),
                      "addservice")
            for port in (8080, 8081):
                expect_ok(cls, *call(url, "/addserver/", {
                    "key": key, "zkidc": zkidc, "destName": "shop", "serverHost": "127.0.0.2",
                    "serverPort": port,
                }), "addserver")
        status, body = call(url, "/serverlist/", {"key": key, "zkidc": "qa", "destName": "shop"})
        expect_ok(cls, status, body, "serverlist")
        members = [server["key"] for server in body.get("servers", body.get("data", []))]
        return {
            "zkidc": ["qa", "g1"], "destName": ["shop"], "serverHost": ["127.0.0.2"],
            "serverPort": [8080, 8081], "serverKey": members or ["member_0000000000"],
        }


class CmdbConformance(Conformance, unittest.TestCase):
    service = "cmdb"
    binary_env = "CMDB_BIN"

    @classmethod
    def service_env(cls, workdir):
        return {
            "DCP_DATABASE__URL": "sqlite://" + os.path.join(workdir, "cmdb.db"),
            "DCP_API_KEYS__CREDENTIALS_FILE": os.path.join(workdir, "admin.json"),
        }

    @classmethod
    def seed(cls, url):
        import cmdb

        with open(os.path.join(cls.main.workdir, "admin.json"), encoding="utf-8") as f:
            credentials = json.load(f)
        admin = cmdb.Client(url, credentials["api_key"], credentials["secret"])
        admin.add_attribute("hostname", attr_alias="host_name", is_uniq=True)
        admin.add_attribute("cpu_core_num", value_type="int")
        admin.add_attribute("nic", is_multivalue=True)
        attr_ids = [admin.attribute(n)["attribute"]["attr_id"] for n in ("cpu_core_num", "nic")]
        server = admin.add_citype("server", unique="hostname")["type_id"]
        admin.bind_attributes(server, attr_ids)
        rack = admin.add_citype("rack", unique="hostname")["type_id"]
        ctr = admin.add_citype_relation(rack, server)["ctr_id"]
        cis = [
            admin.add_ci("server", hostname="web-%d" % n, cpu_core_num=8, nic=["eth0", "eth1"])["ci_id"]
            for n in (1, 2)
        ]
        rack_ci = admin.add_ci("rack", hostname="rack-1")["ci_id"]
        cr = admin.add_ci_relation(rack_ci, cis[0])["cr_id"]
        admin.create_user("reader")
        records = admin.history()
        record_ids = [r.get("record_id", r.get("id")) for r in records.get("records", [])][:3]
        type_ids = [server, rack]
        return {
            "type_id": type_ids, "parent": [rack], "child": [server], "ctr_id": [ctr],
            "ci_id": cis + [rack_ci], "first": [rack_ci], "second": cis, "id": type_ids + cis,
            "cr_id": [cr], "key": ["hostname", "cpu_core_num", "nic"],
            "record_id": [r for r in record_ids if r is not None] or [1],
            "username": ["admin", "reader"], "type": ["server", "rack"], "ci_type": ["server"],
            "hostname": ["web-1", "web-3"], "_type": ["server"],
        }


class CloudPortalConformance(Conformance, unittest.TestCase):
    service = "cloud-portal"
    binary_env = "CLOUD_PORTAL_BIN"

    @classmethod
    def service_env(cls, workdir):
        return {
            "DCP_DATABASE__URL": "sqlite://" + os.path.join(workdir, "portal.db"),
            "DCP_ADMIN__USERNAME": "admin",
            "DCP_ADMIN__PASSWORD": "admin-password",
            "DCP_DEMO__ENABLED": "true",
            # Cheap password hashes: the run logs in for every /api/logout it sends.
            "DCP_PASSWORD_HASH__MEMORY_KIB": "8",
            "DCP_PASSWORD_HASH__ITERATIONS": "1",
        }

    @classmethod
    def token(cls):
        """cloud-portal verifies its own tokens: its admin's, from its /oauth/token."""
        status, body = call(cls.main.url, "/oauth/token", {
            "grant_type": "password", "username": "admin", "password": "admin-password",
        }, json_body=False)
        return expect_ok(cls, status, body, "/oauth/token")["access_token"]

    @classmethod
    def seed(cls, url):
        def login(username, password):
            status, body = call(url, "/api/login", {"username": username, "password": password},
                                json_body=False)
            expect_ok(cls, status, body, "login " + username)
            if body.get("code") != 0:
                raise RuntimeError("seeding cloud-portal: login %s: %s" % (username, body))
            return body["session_key"]

        admin = login("admin", "admin-password")
        user = login("luoyun", "luoyun")

        def post(path, params):
            params = dict(params, session_key=admin)
            status, body = call(url, path, params, json_body=False)
            expect_ok(cls, status, body, path)
            if body.get("code") != 0:
                raise RuntimeError("seeding cloud-portal: %s: %s" % (path, body))
            return body

        # A user of its own for the sessions /api/logout ends (see conformance_hooks.py).
        post("/api/admin/user/add", {"username": "logout-only", "password": "logout-password"})
        post("/api/admin/host/add", {"address": "127.0.0.250", "capacity": "4"})
        images = post("/api/admin/image/list", {})["images"]
        hosts = post("/api/admin/host/list", {})["hosts"]
        users = post("/api/admin/user/list", {})["users"]
        status, body = call(url, "/api/myun/instance", {"session_key": user}, json_body=False)
        instances = [i["id"] for i in body.get("list", [])]
        if not instances:
            raise RuntimeError("seeding cloud-portal: the demo user has no instance: %s" % body)
        cls.hook_env = {
            "DCP_CONFORMANCE_PORTAL_ADMIN_SESSION": admin,
            "DCP_CONFORMANCE_PORTAL_USER_SESSION": user,
            "DCP_CONFORMANCE_PORTAL_USER": "logout-only",
            "DCP_CONFORMANCE_PORTAL_PASSWORD": "logout-password",
        }
        return {
            "instance_id": [str(i) for i in instances],
            "image_id": [str(i["id"]) for i in images],
            "image": [i["name"] for i in images],
            "host_id": [str(h["id"]) for h in hosts],
            "user_id": [str(u["id"]) for u in users],
            "instance_ids": [",".join(str(i) for i in instances[:2])],
        }


def seed_call(test_class, url, path, params):
    """A seed-style call (orchestrator, task-engine) with the admin's token: the `data` of a
    `code` 0 answer."""
    status, body = admin_call(url, path, params)
    if status != 200 or body.get("code") != 0:
        raise RuntimeError("seeding %s: %s answered %d %s" % (test_class.service, path, status, body))
    return body.get("data")


def task_engine_env(workdir):
    return {
        "DCP_DATABASE__URL": "sqlite://" + os.path.join(workdir, "te.db"),
        # Nothing a task runs may leave the machine: no ssh, no ansible, no peers.
        "DCP_SSH__PROGRAM": "/bin/false",
        "DCP_SSH__KNOWN_HOSTS": os.path.join(workdir, "known_hosts"),
        "DCP_ANSIBLE__PROGRAM": "/bin/false",
    }


def seed_task_engine(test_class, url):
    """An action with an implementation, a remote step, a template and a task (not started);
    answers the template's id and the dictionaries."""
    action = seed_call(test_class, url, "/action/create", {"name": "ping", "desc": "ping it", "params": {"count": "int"}})
    action_id = action["id"] if isinstance(action, dict) else action
    impl = seed_call(test_class, url, "/actimpl/create", {
        "action_id": action_id, "type": "ansible",
        "template": {"action": {"module": "ping", "args": ""}},
    })
    impl_id = impl["id"] if isinstance(impl, dict) else impl
    step = seed_call(test_class, url, "/remote_step/create", {"name": "check", "desc": "", "actions": ["ping"]})
    step_id = step["id"] if isinstance(step, dict) else step
    tpl = seed_call(test_class, url, "/task_tpl/create", {
        "name": "checkup", "desc": "",
        "steps": [{"name": "check", "param_values": {}, "retry": {"retry_times": 0, "ignore_error": False}}],
    })
    tpl_id = tpl["id"] if isinstance(tpl, dict) else tpl
    task = seed_call(test_class, url, "/task/create", {
        "template_id": tpl_id, "task_name": "first", "opr_user": "conformance",
        "nodes": ["127.0.0.2"], "auto": False,
    })
    task_id = task["id"] if isinstance(task, dict) else task
    return tpl_id, {
        "id": sorted({action_id, impl_id, step_id, tpl_id, task_id}),
        "action_id": [action_id], "template_id": [tpl_id], "name": ["ping", "check"],
        "nodes": ["127.0.0.2"], "actions": ["ping"],
    }


class TaskEngineConformance(Conformance, unittest.TestCase):
    service = "task-engine"
    binary_env = "TASK_ENGINE_BIN"

    @classmethod
    def service_env(cls, workdir):
        return task_engine_env(workdir)

    @classmethod
    def seed(cls, url):
        return seed_task_engine(cls, url)[1]


class OrchestratorConformance(Conformance, unittest.TestCase):
    service = "orchestrator"
    binary_env = "ORCHESTRATOR_BIN"

    @classmethod
    def service_env(cls, workdir):
        # The task-engine the flows (expand, shrink, deploy) start tasks on.
        cls.task_engine = cls.start_service("task-engine", "TASK_ENGINE_BIN", task_engine_env)
        return {
            "DCP_DATABASE__URL": "sqlite://" + os.path.join(workdir, "orch.db"),
            "DCP_TASK_ENGINE__URL": cls.task_engine.url,
            "DCP_SCHEDULER__ZOOKEEPER": "",
        }

    @classmethod
    def seed(cls, url):
        tpl_id, _ = seed_task_engine(cls, cls.task_engine.url)
        cluster = seed_call(cls, url, "/cluster/create", {"name": "main", "desc": "", "biz": "shop"})
        cluster_id = cluster["id"] if isinstance(cluster, dict) else cluster
        service = seed_call(cls, url, "/service/create", {
            "name": "web", "desc": "", "service_type": "http", "docker_image": "web", "cluster_id": cluster_id,
        })
        service_id = service["id"] if isinstance(service, dict) else service
        sd = seed_call(cls, url, "/sd/create", {"zkidc": "qa", "service": "web", "port": 8080})
        sd_id = sd["id"] if isinstance(sd, dict) else sd
        pool = seed_call(cls, url, "/pool/create", {
            "name": "web-a", "desc": "", "vm_type": "1", "sd_id": 0, "service_id": service_id,
            "expand_tpl": tpl_id, "shrink_tpl": tpl_id, "deploy_tpl": tpl_id,
        })
        pool_id = pool["id"] if isinstance(pool, dict) else pool
        seed_call(cls, url, "/pool/%d/add_nodes" % pool_id, {"nodes": ["127.0.0.2", "127.0.0.3"]})
        seed_call(cls, url, "/task/saveTask", {
            "pool_id": pool_id, "type": "expand", "exec_type": "crontab",
            "cron_items": [{"week_day": 1, "time": "3:00", "instance_num": 1}],
        })
        return {
            "id": sorted({cluster_id, service_id, sd_id, pool_id}), "pool_id": [pool_id],
            "cluster_id": [cluster_id], "service_id": [service_id], "sd_id": [sd_id],
            "iplist": ["127.0.0.2", "127.0.0.2,127.0.0.3"], "nodes": ["127.0.0.2"],
        }


if __name__ == "__main__":
    unittest.main()
