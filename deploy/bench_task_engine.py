#!/usr/bin/env python3
"""Benchmark of task-engine's run loop over loopback (issue 6's figures).

For each backend (SQLite, then MariaDB), two runs of the release binary:

1. **ssh**: a real sshd (Debian's openssh-server, started here on a free port with generated
   keys, `ListenAddress 0.0.0.0`, `SetEnv SHLVL=1` so that the login shell does not run the
   user's ~/.bashrc for each command) and BENCH_NODES nodes at distinct loopback addresses
   127.0.x.y, all reaching it; a template of three remote steps, each one trivial command
   (`true`); `max_num` BENCH_MAX_NUM, `run.concurrency` the same. Measures the wall time from
   `/task/start` to the task's end, and node-steps per second.
2. **no-op**: the same task with `ssh.program` = `/bin/true` (every action "runs" and exits 0
   without any connection), which leaves the engine's own work per node-step: reading the
   step, the log rows, the node's progress commits, the process spawn.

Both runs create the task through the HTTP API, start it, and poll `/task/<id>` every 100 ms
(so the wall time is accurate to about 0.1 s). Prints a Markdown table and writes
var/bench/task_engine.md.

Environment: TARGET_DIR (cargo target dir holding release/task-engine), DCP_TEST_MYSQL_URL
(MariaDB server URL; database dcp_bench_task_engine is dropped and re-created),
BENCH_BACKENDS (default "sqlite,mysql"), BENCH_NODES (default 1000), BENCH_MAX_NUM (default
100), BENCH_RUNS (default "ssh,noop"), BENCH_KEX (the engine's `ssh.kex_algorithms`, default
curve25519-sha256; empty = OpenSSH's default, whose post-quantum hybrid costs the client
about 60 ms of CPU per connection here).
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402  (deploy/benchlib.py)

BINARY = benchlib.release_binary("task-engine")
SSHD = "/usr/sbin/sshd"
NODES = int(os.environ.get("BENCH_NODES", "1000"))
MAX_NUM = int(os.environ.get("BENCH_MAX_NUM", "100"))
MYSQL_URL = benchlib.MYSQL_URL
MYSQL_DB = "dcp_bench_task_engine"
STEPS = 3


def start_sshd(workdir):
    """sshd on a free port for every loopback address; returns (proc, port, user, key)."""
    if not os.path.exists(SSHD):
        sys.exit(f"bench: {SSHD} is missing (apt-get install openssh-server)")
    d = os.path.join(workdir, "sshd")
    os.mkdir(d, 0o700)
    for name in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bench", "-f",
                        os.path.join(d, name)], check=True)
    os.makedirs("/run/sshd", exist_ok=True)
    port = benchlib.free_port()
    config = os.path.join(d, "sshd_config")
    with open(config, "w") as f:
        f.write(f"Port {port}\nListenAddress 0.0.0.0\nHostKey {d}/host_key\n"
                f"AuthorizedKeysFile {d}/client_key.pub\nPasswordAuthentication no\n"
                "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
                f"PermitRootLogin prohibit-password\nPidFile {d}/sshd.pid\n"
                # A batch opens up to MAX_NUM connections at once: no early drops.
                "MaxStartups 2000\nMaxSessions 200\nLogLevel ERROR\n"
                # Debian's bash sources ~/.bashrc for every command run by sshd when SHLVL
                # is below 2; a developer's .bashrc (pyenv init, ...) then costs more than the
                # engine. The bench's "hosts" get a quiet shell instead.
                "SetEnv SHLVL=1\n")
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", config], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "sshd.log"), "w"))
    deadline = time.time() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                sys.exit(f"bench: sshd does not listen on {port}")
            time.sleep(0.05)
    user = subprocess.run(["id", "-un"], capture_output=True, text=True, check=True).stdout.strip()
    return proc, port, user, os.path.join(d, "client_key")


def start_engine(database_url, workdir, ssh):
    env = dict(benchlib.database_env(database_url),
               DCP_RUN__CONCURRENCY=str(MAX_NUM), DCP_RUN__RETRY_PAUSE_MS="100",
               DCP_SSH__HOST_KEY_POLICY="accept-new",
               DCP_SSH__KNOWN_HOSTS=os.path.join(workdir, "known_hosts"),
               DCP_SSH__CONTROL_DIR=workdir,
               # A node's steps share one connection; it closes soon after the node is done,
               # so a 1,000-node task does not keep 1,000 sessions open.
               DCP_SSH__CONTROL_PERSIST_SECS="2",
               DCP_SSH__KEX_ALGORITHMS=os.environ.get("BENCH_KEX", "curve25519-sha256"))
    env.update(ssh)
    return benchlib.start_service(BINARY, env)


def call(base, path, body=None):
    data = json.dumps(body or {}).encode()
    req = urllib.request.Request(base + path, data=data, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        reply = json.load(r)
    if reply.get("code") != 0:
        sys.exit(f"bench: {path} answered {reply}")
    return reply.get("data")


def catalog(base):
    """Three remote steps of one trivial action each; returns the template id."""
    names = []
    for n in range(1, STEPS + 1):
        name = f"noop{n}"
        action = call(base, "/action/create", {"name": name, "desc": "", "params": {}})
        call(base, "/actimpl/create", {"action_id": action, "type": "ansible",
                                       "template": {"action": {"module": "shell", "args": "true"}}})
        call(base, "/remote_step/create", {"name": name, "desc": "", "actions": [name]})
        names.append(name)
    steps = [{"name": n, "param_values": {}, "retry": {}} for n in names]
    return call(base, "/task_tpl/create", {"name": "bench", "desc": "", "steps": steps})


def node_ips(count):
    """127.0.x.y, distinct, none of them 127.0.0.1."""
    ips = []
    for i in range(count):
        ips.append(f"127.0.{1 + i // 250}.{1 + i % 250}")
    return ips


def cpu_seconds(pid):
    """CPU time (user + system) of the process's own threads, children not included."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_task(base, template_id, pid):
    """Creates and runs the task; returns (create s, run s, engine CPU s of the run, task)."""
    nodes = [{"ip": ip} for ip in node_ips(NODES)]
    started = time.time()
    fid = call(base, "/task/create", {"template_id": template_id, "task_name": "bench",
                                      "opr_user": "bench", "nodes": nodes, "max_num": MAX_NUM})
    created = time.time() - started
    started = time.time()
    cpu = cpu_seconds(pid)
    call(base, "/task/start", {"id": fid})
    while True:
        try:
            task = call(base, f"/task/{fid}")
        except urllib.error.HTTPError as e:
            # A poll that waited too long for the database is not the task's failure.
            print(f"bench: polling task {fid}: {e}", file=sys.stderr)
            time.sleep(0.1)
            continue
        if task["Status"] not in (0, 1):
            break
        time.sleep(0.1)
    seconds = time.time() - started
    cpu = cpu_seconds(pid) - cpu
    if task["Status"] != 2:
        rows = call(base, f"/task/{fid}/log")
        tail = "\n".join(r["message"][:300] for r in rows[-12:])
        print(f"bench: task {fid} ended {task['Status']}; its last log rows:\n{tail}",
              file=sys.stderr)
    return created, seconds, cpu, task


def mysql(sql):
    benchlib.mysql(MYSQL_URL, sql)


def main():
    benchlib.require_binary(BINARY, "task-engine")
    backends = os.environ.get("BENCH_BACKENDS", "sqlite,mysql").split(",")
    runs = os.environ.get("BENCH_RUNS", "ssh,noop").split(",")
    tmp = tempfile.mkdtemp(prefix="dcp-bench-te-")
    os.chmod(tmp, 0o700)
    sshd, port, user, key = start_sshd(tmp)
    results = []
    try:
        for backend in backends:
            for run in runs:
                work = tempfile.mkdtemp(dir=tmp)
                if backend == "sqlite":
                    url = f"sqlite://{os.path.join(work, 'task-engine.db')}"
                else:
                    mysql(benchlib.recreate_database_sql(MYSQL_DB))
                    url = f"{MYSQL_URL}/{MYSQL_DB}"
                ssh = {"DCP_SSH__USER": user, "DCP_SSH__KEY": key, "DCP_SSH__PORT": str(port)}
                if run == "noop":
                    ssh["DCP_SSH__PROGRAM"] = "/bin/true"
                proc, base = start_engine(url, work, ssh)
                try:
                    template_id = catalog(base)
                    created, seconds, cpu, task = run_task(base, template_id, proc.pid)
                finally:
                    benchlib.stop(proc)
                stat = task["stat"]
                node_steps = NODES * STEPS
                results.append((backend, run, created, seconds, node_steps / seconds,
                                seconds / node_steps * 1000, cpu / node_steps * 1000, stat,
                                task["Status"]))
                print(f"{backend} {run}: {NODES} nodes x {STEPS} steps in {seconds:.1f} s "
                      f"({node_steps / seconds:,.0f} node-steps/s), stat {stat}", file=sys.stderr)
        if "mysql" in backends:
            mysql(f"DROP DATABASE IF EXISTS {MYSQL_DB};")
    finally:
        benchlib.stop(sshd)
        shutil.rmtree(tmp, ignore_errors=True)

    table = [f"{NODES:,} nodes (127.0.x.y, one sshd on loopback), {STEPS} remote steps of one "
             f"`true` each, `max_num` {MAX_NUM} (so {-(-NODES // MAX_NUM)} batches), "
             f"`run.concurrency` {MAX_NUM}. `ssh`: the real ssh client and sshd; `no-op`: "
             "`ssh.program = /bin/true` (no connection: the engine's own cost).", "",
             "`engine CPU` is the task-engine process's own CPU time (user + system, its "
             "children not included) during the run, per node-step.", "",
             "| backend | run | task create s | run wall s | node-steps/s | wall ms per node-step "
             "| engine CPU ms per node-step | stat | state |",
             "|---|---|---:|---:|---:|---:|---:|---|---:|"]
    for backend, run, created, seconds, rate, per, cpu, stat, state in results:
        table.append(f"| {backend} | {run} | {created:.2f} | {seconds:.1f} | {rate:,.0f} | "
                     f"{per:.2f} | {cpu:.2f} | {stat} | {state} |")
    benchlib.write_report("task_engine", "\n".join(table))


if __name__ == "__main__":
    main()
