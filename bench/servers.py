"""Start and stop the processes a benchmark run needs: our ASGI app (Daphne or uvicorn), the raw
broadcast ceiling, nginx, plus the database/Redis chores. Everything started here is stopped by
``Stack.close()`` (bench/run.py calls it in a ``finally``), by process id, never by name."""

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV_BIN = Path(sys.executable).parent
REFERENCE = ROOT.parent / "shared" / "bench-reference"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "chat_bench"
REDIS_DB = 7


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_command(kind: str, port: int, app: str) -> list[str]:
    if kind == "daphne":
        # The Procfile's command (Daphne's default verbosity, access log included).
        return [str(VENV_BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), app]
    if kind == "uvicorn":
        # Django's ASGI handler has no lifespan support: --lifespan off spares a warning.
        return [str(VENV_BIN / "uvicorn"), app, "--host", "127.0.0.1", "--port", str(port),
                "--log-level", "warning", "--no-access-log", "--lifespan", "off"]
    raise ValueError(kind)


class Proc:
    def __init__(self, name, popen, log_path, port=None):
        self.name, self.popen, self.log_path, self.port = name, popen, log_path, port

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def stop(self, timeout=8.0):
        if self.popen.poll() is not None:
            return self.popen.returncode
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)  # its own session: only what we started
        except ProcessLookupError:
            pass
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            return self.popen.wait(5)

    def log_tail(self, n=30):
        try:
            return "\n".join(Path(self.log_path).read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


class Stack:
    """Every process of one run; close() stops them all, newest first."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.procs: list[Proc] = []

    def spawn(self, name, cmd, env=None, cwd=None, port=None) -> Proc:
        log_path = self.tmp / f"{name}.log"
        with open(log_path, "ab") as log:
            popen = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        proc = Proc(name, popen, log_path, port)
        self.procs.append(proc)
        return proc

    def start_asgi(self, name, kind, app, env, cwd, ready_path="/", timeout=40.0) -> Proc:
        port = free_port()
        proc = self.spawn(name, server_command(kind, port, app), env=env, cwd=cwd, port=port)
        wait_http(proc, port, ready_path, timeout)
        return proc

    def stop(self, proc: Proc):
        proc.stop()
        if proc in self.procs:
            self.procs.remove(proc)

    def close(self):
        for proc in reversed(self.procs):
            try:
                proc.stop()
            except Exception as e:  # noqa: BLE001
                print(f"  ! could not stop {proc.name} ({proc.pid}): {e}", flush=True)
        self.procs.clear()


def wait_http(proc: Proc, port: int, path: str, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.log_tail()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path, headers={"Host": "127.0.0.1"})
            status = conn.getresponse().status
            conn.close()
            if status < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{proc.name} did not answer on :{port}{path} within {timeout:.0f} s:\n{proc.log_tail()}")


# --- environments --------------------------------------------------------------------------------
def app_env(var_dir: Path, production: bool) -> dict:
    env = dict(os.environ)
    env.update({
        "VAR_DIR": str(var_dir),
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "MESSAGE_RATE_LIMIT": "1000000/s",  # benchmark clients send as fast as the server answers
        "PYTHONDONTWRITEBYTECODE": "1",
        # Empty values beat a developer's .env (read with overwrite=False): embedded means embedded.
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{PG_DB}" if production else "",
        "REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}" if production else "",
        # Redis pub/sub channels are not per database: our own prefixes keep test runs sharing
        # this Redis (CI uses DB 1 with the default prefix) out of the benchmark, and vice versa.
        "CACHE_KEY_PREFIX": "chatbench",
        "CHANNEL_LAYER_PREFIX": "chatbench",
    })
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def run_manage(env, *args, timeout=300, cwd=ROOT):
    r = subprocess.run([sys.executable, "manage.py", *args], cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=timeout)
    if r.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}")
    return r.stdout


def fresh_postgres_db():
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DB}")


def flush_redis_db():
    import redis

    r = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    r.flushdb()
    r.close()


# --- nginx ---------------------------------------------------------------------------------------
NGINX_CONF = """\
# Generated by bench/servers.py from bench/nginx.conf: a load balancer in front of the ASGI processes.
worker_processes 1;
daemon off;
master_process on;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 20000; }}
http {{
{body}
}}
"""


def nginx_binary():
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def start_nginx(stack: Stack, upstream_ports: list[int]) -> Proc:
    binary = nginx_binary()
    if not binary:
        raise RuntimeError("nginx is not installed (bench/setup.sh installs Debian's package)")
    port = free_port()
    tmp = stack.tmp / "nginx"
    tmp.mkdir(exist_ok=True)
    body = (BENCH / "nginx.conf").read_text()
    body = body.replace("@TMP@", str(tmp)).replace("@PORT@", str(port)).replace(
        "@UPSTREAMS@", "\n".join(f"    server 127.0.0.1:{p};" for p in upstream_ports))
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, body=body))
    proc = stack.spawn("nginx", [binary, "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "nginx-error.log")], port=port)
    wait_http(proc, port, "/accounts/login/", 20)
    return proc
