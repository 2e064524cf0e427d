"""What the Python test suites share: a DCP service binary run as a real process, a request
built by hand, a real cloud-portal run as the platform's token issuer (:class:`Issuer`), and a
MariaDB database made for (and dropped after) one run. Standard library only.

A service is started on 127.0.0.1:0 and its address read from the line every DCP binary
prints on stdout: ``<service> listening on http://HOST:PORT``.
"""

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
START_TIMEOUT = 30.0
MYSQL_ENV = "DCP_PY_TEST_MYSQL_URL"


def service_binary(name, binary_env):
    """The debug binary of `name`: `$<binary_env>`, else `$CARGO_TARGET_DIR/debug/<name>`,
    else `<repo>/target/debug/<name>`."""
    explicit = os.environ.get(binary_env, "").strip()
    if explicit:
        return os.path.abspath(explicit)
    target = os.environ.get("CARGO_TARGET_DIR", "").strip()
    if target:
        return os.path.abspath(os.path.join(target, "debug", name))
    return os.path.join(REPO, "target", "debug", name)


class ServiceProcess:
    """One DCP service binary, run in its own temporary working folder.

    ``env`` is added to the environment (after ``DCP_*`` variables of the caller are dropped
    when ``clean_env`` is set). After :meth:`start`, ``url`` is ``http://HOST:PORT`` and
    ``address`` is ``HOST:PORT``. :meth:`stop` ends the process (SIGTERM, then SIGKILL after
    20 s); :meth:`cleanup` removes the working folder.
    """

    def __init__(self, name, binary_env, env=None, clean_env=False, workdir=None):
        self.name = name
        self.binary_env = binary_env
        self.env = dict(env or {})
        self.clean_env = clean_env
        self.workdir = workdir or tempfile.mkdtemp(prefix=name + "-test-")
        self.stderr_path = os.path.join(self.workdir, "stderr.log")
        self.process = None
        self.url = None
        self.address = None
        self._stderr = None
        self._lines = queue.Queue()
        self._reader = None
        self._listening = re.compile(re.escape(name) + r" listening on (http://\S+)")

    def stderr_text(self):
        try:
            with open(self.stderr_path, "r", encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def start(self):
        binary = service_binary(self.name, self.binary_env)
        if not os.path.isfile(binary):
            raise RuntimeError(
                "%s binary not found at %s: build it with `cargo build -p %s` or point %s at it"
                % (self.name, binary, self.name, self.binary_env)
            )
        env = dict(os.environ)
        if self.clean_env:
            for key in [k for k in env if k.startswith("DCP_")]:
                del env[key]
        env["DCP_HTTP__BIND"] = "127.0.0.1:0"
        env.update(self.env)
        self._stderr = open(self.stderr_path, "wb")
        self.process = subprocess.Popen(
            [binary], cwd=self.workdir, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=self._stderr,
        )
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + START_TIMEOUT
        while self.url is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.stop()
                raise RuntimeError(
                    "%s did not print `%s listening on http://HOST:PORT` within %d s; its stderr:\n%s"
                    % (self.name, self.name, START_TIMEOUT, self.stderr_text())
                )
            try:
                line = self._lines.get(timeout=min(remaining, 0.2))
            except queue.Empty:
                if self.process.poll() is not None and not self._reader.is_alive():
                    code = self.process.returncode
                    self.stop()
                    raise RuntimeError(
                        "%s exited with status %s before listening; its stderr:\n%s"
                        % (self.name, code, self.stderr_text())
                    )
                continue
            found = self._listening.search(line)
            if found:
                self.url = found.group(1).rstrip("/")
                self.address = self.url[len("http://"):]
        return self.url

    def _read_stdout(self):
        # Drains stdout for the life of the process so that it never blocks on a full pipe.
        for raw in iter(self.process.stdout.readline, b""):
            self._lines.put(raw.decode("utf-8", "replace"))
        self.process.stdout.close()

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self._reader is not None:
            self._reader.join(timeout=5)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def cleanup(self):
        shutil.rmtree(self.workdir, ignore_errors=True)


class CmdbService(ServiceProcess):
    """The cmdb binary on 127.0.0.1:0 with a fresh SQLite database in its temporary folder,
    the admin's generated key in the file ``credentials``, trusting ``issuer``; ``extra_env``
    over that (a MariaDB URL, settings of one suite)."""

    def __init__(self, issuer, extra_env=None):
        super().__init__("cmdb", "CMDB_BIN", clean_env=True)
        self.credentials = os.path.join(self.workdir, "admin.json")
        self.env.update({
            "DCP_DATABASE__URL": "sqlite://" + os.path.join(self.workdir, "cmdb.db"),
            "DCP_API_KEYS__CREDENTIALS_FILE": self.credentials,
        })
        self.env.update(issuer.auth_env())
        self.env.update(extra_env or {})


def http_request(url, method="POST", params=None, json_body=True, timeout=30, token=None):
    """One request built by hand (no client): answers (HTTP status, decoded JSON body), whatever
    the status. A GET carries params in its query string; other methods send them as JSON, or
    as a form with json_body=False. ``token``, when given, goes out as
    ``Authorization: Bearer <token>``."""
    data = None
    headers = {}
    if token:
        headers["Authorization"] = "Bearer " + token
    if method == "GET":
        if params:
            url += "?" + urllib.parse.urlencode(params)
    elif params is not None:
        if json_body:
            data = json.dumps(params).encode("utf-8")
            headers["Content-Type"] = "application/json"
        else:
            data = urllib.parse.urlencode(params).encode("utf-8")
            headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode("utf-8") or "null")


class Issuer:
    """A real cloud-portal run as the platform's token issuer, for one test module or class.

    Every DCP service refuses to start without ``[auth]`` and wants ``Authorization: Bearer
    <JWT>`` on its routes; this is where the suites get both. The portal runs on 127.0.0.1:0
    with a fresh SQLite database in its own temporary folder, demo data off, cheap password
    hashes, and an administrator of its own. Its tokens carry ``iss`` = :attr:`ISS` and
    ``aud`` = :attr:`AUDIENCE`; its keys are at ``<url>/oauth/jwks``.

    - :meth:`auth_env` is the environment that makes another service trust it
      (``DCP_AUTH__ISSUER``, ``DCP_AUTH__AUDIENCE``, ``DCP_AUTH__JWKS_URL``);
    - :meth:`token` is the administrator's access token (role admin), fetched with the
      password grant of ``POST /oauth/token`` and fetched again before it expires;
    - :meth:`add_user` makes a portal user (role ``user`` gives viewer tokens, ``admin`` admin
      ones, ``service`` service ones) and :meth:`password_token` gets a token for any user;
    - ``clients`` ({client id: secret}, secrets of 16 characters or more) are service
      identities (``[[issuer.clients]]``, role service); :meth:`identity_env` is the
      ``DCP_IDENTITY__*`` environment of the service that calls as one of them.

    Use::

        issuer = Issuer()
        issuer.start()
        service = ServiceProcess("resource-pool", "RESOURCE_POOL_BIN", env=issuer.auth_env())
        ...
        issuer.stop(); issuer.cleanup()
    """

    ISS = "http://dcp-pytest-issuer"
    AUDIENCE = "dcp"
    ADMIN = "pytest-admin"
    ADMIN_PASSWORD = "pytest-admin-password"
    # A token is fetched again when less than this is left of its life (seconds).
    RENEW_MARGIN = 60

    def __init__(self, clients=None, extra_env=None):
        self.process = ServiceProcess("cloud-portal", "CLOUD_PORTAL_BIN", clean_env=True)
        workdir = self.process.workdir
        if clients:
            # A list of tables has no environment form: the identities go in a config file.
            config = os.path.join(workdir, "issuer.toml")
            with open(config, "w", encoding="utf-8") as f:
                for client_id, secret in sorted(clients.items()):
                    f.write("[[issuer.clients]]\nid = %s\nsecret = %s\n\n"
                            % (json.dumps(client_id), json.dumps(secret)))
            self.process.env["DCP_CONFIG"] = config
        self.process.env.update({
            "DCP_DATABASE__URL": "sqlite://" + os.path.join(workdir, "issuer.db"),
            "DCP_DEMO__ENABLED": "false",
            "DCP_ADMIN__USERNAME": self.ADMIN,
            "DCP_ADMIN__PASSWORD": self.ADMIN_PASSWORD,
            "DCP_ISSUER__URL": self.ISS,
            "DCP_ISSUER__AUDIENCE": self.AUDIENCE,
            "DCP_ISSUER__KEY_FILE": os.path.join(workdir, "issuer.key"),
            # Cheap password hashes keep a debug build quick.
            "DCP_PASSWORD_HASH__MEMORY_KIB": "1024",
            "DCP_PASSWORD_HASH__ITERATIONS": "1",
        })
        self.process.env.update(extra_env or {})
        self.url = None
        self._tokens = {}

    def start(self):
        self.url = self.process.start()
        return self.url

    def stop(self):
        self.process.stop()

    def cleanup(self):
        self.process.cleanup()

    @classmethod
    def started(cls, **kwargs):
        """A running issuer for a test module's setUpModule (its folder removed if it fails)."""
        issuer = cls(**kwargs)
        try:
            issuer.start()
        except Exception:
            issuer.cleanup()
            raise
        return issuer

    def close(self):
        """Stops the issuer and removes its folder (tearDownModule)."""
        self.stop()
        self.cleanup()

    @property
    def jwks_url(self):
        return self.url + "/oauth/jwks"

    def auth_env(self):
        """The ``DCP_AUTH__*`` environment of a service that trusts this issuer."""
        return {
            "DCP_AUTH__ISSUER": self.ISS,
            "DCP_AUTH__AUDIENCE": self.AUDIENCE,
            "DCP_AUTH__JWKS_URL": self.jwks_url,
        }

    def identity_env(self, client_id, secret):
        """The ``DCP_IDENTITY__*`` environment of a service calling as ``client_id``."""
        return {
            "DCP_IDENTITY__TOKEN_URL": self.url + "/oauth/token",
            "DCP_IDENTITY__CLIENT_ID": client_id,
            "DCP_IDENTITY__CLIENT_SECRET": secret,
        }

    def password_token(self, username, password):
        """A fresh access token of ``username`` (password grant); raises if refused."""
        status, body = http_request(
            self.url + "/oauth/token", "POST",
            {"grant_type": "password", "username": username, "password": password},
            json_body=False, timeout=30,
        )
        if status != 200 or not isinstance(body, dict) or "access_token" not in body:
            raise RuntimeError("the issuer refused a token for %s: HTTP %s %s" % (username, status, body))
        return body

    def token(self, username=None, password=None):
        """An access token of ``username`` (default: the administrator, role admin), kept and
        fetched again shortly before it expires."""
        if username is None:
            username, password = self.ADMIN, self.ADMIN_PASSWORD
        kept = self._tokens.get(username)
        if kept is None or time.monotonic() > kept[1]:
            answer = self.password_token(username, password)
            life = float(answer.get("expires_in") or 0)
            kept = (answer["access_token"], time.monotonic() + max(life - self.RENEW_MARGIN, 0))
            self._tokens[username] = kept
        return kept[0]

    def add_user(self, username, password, role="user"):
        """Makes a portal user (``user``: viewer tokens, ``admin``, ``service``); answers its token."""
        status, body = http_request(
            self.url + "/api/admin/user/add", "POST",
            {"username": username, "password": password, "role": role},
            json_body=False, timeout=30, token=self.token(),
        )
        if status != 200 or body.get("code") != 0:
            raise RuntimeError("the issuer refused to add user %s: HTTP %s %s" % (username, status, body))
        return self.token(username, password)


def mysql_database_or_skip():
    """The database of $DCP_PY_TEST_MYSQL_URL, with whether it existed before the run checked;
    skips the calling suite (raised from its setUpClass) when the variable is not set."""
    url = os.environ.get(MYSQL_ENV, "").strip()
    if not url:
        raise unittest.SkipTest("%s is not set" % MYSQL_ENV)
    database = MysqlDatabase(url)
    database.check_existence()
    return database


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
