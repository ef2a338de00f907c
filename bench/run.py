#!/usr/bin/env python3
"""The benchmark harness (issue 6). `make bench` runs it; it needs PostgreSQL and Redis on
127.0.0.1 (as CI does) and nginx for the scale-out part (bench/setup.sh installs it).

What one run does, on loopback only, every loop bounded in count and time:
  ceiling     ../shared/bench-reference/raw_broadcast.py under Daphne and uvicorn
  embedded    SQLite + in-memory channel layer, one process (Daphne, then uvicorn)
  production  PostgreSQL (fresh database chat_bench) + Redis DB 7 (flushed), one process each
  scale-out   two Daphne processes behind nginx, sharing PostgreSQL and Redis
with the shapes of the reference README (latency, fan-out 20, fan-out 200, 5,000 idle sockets)
plus the pages (1,000,000 messages). Results: bench/results/<date>-<config>.json, latest.md,
latest.png and the generated part of docs/performance.md.

    .venv/bin/python bench/run.py              # what `make bench` runs
    .venv/bin/python bench/run.py --quick      # a short smoke run (minutes), results not kept
    .venv/bin/python bench/run.py --profile    # py-spy under the fan-out load, see docs/performance.md
"""

import argparse
import datetime as dt
import http.client
import json
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import servers
from servers import BENCH, REFERENCE, ROOT, Stack

sys.path.insert(0, str(REFERENCE))
import benchlib  # noqa: E402

RESULTS = BENCH / "results"
PY = sys.executable


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def machine_info():
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    import os

    def version(mod):
        try:
            from importlib.metadata import version as v
            return v(mod)
        except Exception:  # noqa: BLE001
            return None

    nginx = servers.nginx_binary()
    nginx_version = None
    if nginx:
        r = subprocess.run([nginx, "-v"], capture_output=True, text=True)
        nginx_version = (r.stderr or r.stdout).strip().split("/")[-1]
    return {"nproc": os.cpu_count(), "memory_gib": round(mem_kb / 1024 / 1024, 1), "cpu_model": cpu,
            "kernel": platform.release(), "python": platform.python_version(),
            "versions": {m: version(m) for m in ("Django", "channels", "daphne", "uvicorn", "websockets",
                                                 "channels-redis", "psycopg", "uvloop", "Twisted")},
            "nginx": nginx_version, "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3]}


class Bench:
    def __init__(self, args):
        self.args = args
        self.t_start = time.monotonic()
        self.tmp = Path(tempfile.mkdtemp(prefix="chat-bench-"))
        self.stack = Stack(self.tmp)
        self.results = {"meta": {"started": dt.datetime.now().isoformat(timespec="seconds"),
                                 "command": "make bench" if not args.quick else "bench/run.py --quick",
                                 "machine": machine_info(), "skipped": [], "notes": []}}
        self.n_spec = 0
        self.env, self.data = {}, {}
        self.app_root = ROOT if args.source == "worktree" else export_head(self.tmp)
        self.results["meta"]["source"] = source_info(args.source)

    # --- time budget ---------------------------------------------------------------------------
    def elapsed(self):
        return time.monotonic() - self.t_start

    def has_time(self, needed_s, what):
        left = self.args.budget - self.elapsed()
        if left >= needed_s:
            return True
        self.skip(what, f"time budget: {left:.0f} s left of {self.args.budget:.0f} s, needs ~{needed_s:.0f} s")
        return False

    def skip(self, what, why):
        log(f"  skipped {what}: {why}")
        self.results["meta"]["skipped"].append({"what": what, "why": why})

    # --- subprocess helpers ----------------------------------------------------------------------
    def client(self, spec):
        self.n_spec += 1
        spec_path = self.tmp / f"client-{self.n_spec}.json"
        out_path = self.tmp / f"client-{self.n_spec}-out.json"
        spec_path.write_text(json.dumps(spec))
        hard = float(spec.get("hard_wall_s", 300))
        r = subprocess.run([PY, str(BENCH / "client.py"), str(spec_path), str(out_path)], capture_output=True,
                           text=True, timeout=hard + 60)
        if r.returncode or not out_path.exists():
            raise RuntimeError(f"client {spec['phase']} failed ({r.returncode}):\n{r.stdout[-1500:]}\n{r.stderr[-3000:]}")
        return json.loads(out_path.read_text())

    def setup_data(self, env, command, spec, timeout=900):
        self.n_spec += 1
        spec_path = self.tmp / f"setup-{self.n_spec}.json"
        out_path = self.tmp / f"setup-{self.n_spec}-out.json"
        spec_path.write_text(json.dumps(spec))
        r = subprocess.run([PY, str(BENCH / "setup_data.py"), command, str(spec_path), str(out_path)],
                           cwd=self.app_root, env={**env, "BENCH_APP_ROOT": str(self.app_root)},
                           capture_output=True, text=True, timeout=timeout)
        if r.returncode:
            raise RuntimeError(f"setup_data {command} failed:\n{r.stdout[-1500:]}\n{r.stderr[-4000:]}")
        return json.loads(out_path.read_text())

    def start_setup(self, env, command, spec):
        self.n_spec += 1
        spec_path = self.tmp / f"setup-{self.n_spec}.json"
        out_path = self.tmp / f"setup-{self.n_spec}-out.json"
        spec_path.write_text(json.dumps(spec))
        popen = subprocess.Popen([PY, str(BENCH / "setup_data.py"), command, str(spec_path), str(out_path)],
                                 cwd=self.app_root, env={**env, "BENCH_APP_ROOT": str(self.app_root)},
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        return popen, out_path

    # --- WebSocket workloads -------------------------------------------------------------------------
    def ws_members(self, proto, base_ports, users=None, room=None, count=None):
        """Socket specs, spread over base_ports (one per process, or the nginx port)."""
        members = []
        n = len(users) if users is not None else count
        for i in range(n):
            port = base_ports[i % len(base_ports)]
            if proto == "ours":
                members.append({"url": f"ws://127.0.0.1:{port}/ws/",
                                "headers": {"Origin": f"http://127.0.0.1:{port}", "Cookie": users[i]["cookie"]}})
            else:
                members.append({"url": f"ws://127.0.0.1:{port}/ws/{room}"})
        return members

    def run_shapes(self, label, proto, ports, pids, sets=None, idle_cookies=None, shapes=None, extra=None,
                   primary=True):
        """The shapes of the reference README against one server (or a group of them)."""
        a = self.args
        out = {}
        shapes = shapes or ["latency", "fanout20", "fanout200", "connections"]
        tag = f"{label.replace(' ', '')}{int(time.time()) % 100000}"
        common = {"proto": proto, "server_pids": pids, "pad": 100, **(extra or {})}
        for shape in shapes:
            t0 = time.monotonic()
            try:
                if shape == "latency":
                    users = sets["lat"]["users"] if sets else None
                    # 2,000 messages, or as many as fit in the time bound (the reference run gets longer).
                    max_s = a.latency_primary_max_s if primary else a.latency_max_s
                    spec = {**common, "phase": "latency", "msgs": a.latency_msgs, "max_s": max_s, "hard_wall_s": max_s + 60,
                            "tag": f"{tag}L", "conversation": sets["lat"]["conversation"] if sets else None,
                            "members": self.ws_members(proto, ports, users, room=f"L{tag}", count=2)}
                elif shape in ("fanout20", "fanout200"):
                    key = "f20" if shape == "fanout20" else "f200"
                    n = 20 if shape == "fanout20" else 200
                    users = sets[key]["users"] if sets else None
                    spec = {**common, "phase": "fanout", "senders": 8,
                            "duration": a.fanout_s if n == 20 else a.fanout200_s, "drain": 10,
                            "hard_wall_s": 200, "tag": f"{tag}{key}",
                            "conversation": sets[key]["conversation"] if sets else None,
                            "members": self.ws_members(proto, ports, users, room=f"{key}{tag}", count=n)}
                elif shape == "connections":
                    if proto == "ours" and not idle_cookies:
                        continue
                    users = [{"cookie": c} for c in idle_cookies] if proto == "ours" else None
                    spec = {**common, "phase": "connections", "connect_concurrency": a.connect_concurrency,
                            "max_s": a.connections_max_s, "hard_wall_s": a.connections_max_s + 60, "settle_s": 3,
                            "members": self.ws_members(proto, ports[:1], users, room="idle", count=a.idle)}
                else:
                    raise ValueError(shape)
                res = self.client(spec)
            except Exception as e:  # noqa: BLE001  (one shape failing must not lose the others)
                log(f"  ! {label} {shape} failed: {e}")
                res = {"phase": shape, "failed": str(e)[-2000:]}
            res["duration_s"] = round(time.monotonic() - t0, 1)
            out[shape] = res
            log(f"  {label:28s} {shape:11s} {summary_line(res)}  ({res['duration_s']} s)")
        return out

    # --- configurations ------------------------------------------------------------------------------
    def ceiling(self, kind):
        shapes = {}
        for group in (["latency", "fanout20", "fanout200"], ["connections"]):
            proc = self.stack.start_asgi(f"ceiling-{kind}", kind, "raw_broadcast:app", servers.app_env(self.tmp, False),
                                         cwd=REFERENCE, ready_path="/")
            try:
                shapes.update(self.run_shapes(f"ceiling/{kind}", "raw", [proc.port], [proc.pid], shapes=group))
                shapes.setdefault("server_alive_after", []).append(proc.alive())
            finally:
                self.stack.stop(proc)
        self.results.setdefault("ceiling", {})[kind] = shapes

    def prepare(self, name):
        """Fresh database (SQLite in a new VAR_DIR, or PostgreSQL chat_bench + Redis DB 7), migrated,
        with the people, conversations and sessions of every later stage of this configuration."""
        production = name == "production"
        a = self.args
        env = servers.app_env(self.tmp / f"var-{name}", production)
        section = {"settings": {"database": "postgresql (chat_bench)" if production else "sqlite (WAL)",
                                "channel_layer": "channels_redis PubSub (Redis DB 7)" if production else "in-memory",
                                "cache": "redis" if production else "locmem",
                                "MESSAGE_RATE_LIMIT": env["MESSAGE_RATE_LIMIT"]}}
        self.results[name] = section
        t0 = time.monotonic()
        if production:
            servers.fresh_postgres_db()
            servers.flush_redis_db()
        servers.run_manage(env, "migrate", "--noinput", "-v0", cwd=self.app_root)
        section["migrate_s"] = round(time.monotonic() - t0, 1)
        variants = list(a.servers) + (["scaleout"] if production and not a.no_scaleout else [])
        spec = {"prefix": f"{name[:3]}", "idle": a.idle,
                "sets": [{"name": f"{v}-{k}", "kind": "direct" if k == "lat" else "group", "members": m}
                         for v in variants for k, m in (("lat", 2), ("f20", 20), ("f200", 200))]}
        t0 = time.monotonic()
        data = self.setup_data(env, "users", spec)
        section["setup"] = {"elapsed_s": round(time.monotonic() - t0, 1), "timings": data["timings"],
                            "database": data["database"]}
        log(f"{name}: migrated in {section['migrate_s']} s, people and sessions in {section['setup']['elapsed_s']} s")
        self.env[name], self.data[name] = env, data

    def sets_for(self, name, variant):
        return {k: self.data[name]["sets"][f"{variant}-{k}"] for k in ("lat", "f20", "f200")}

    def ours(self, name, kind, shapes, primary=False):
        env = self.env[name]
        res = {}
        # The idle sockets get a server of their own, so that its memory is not what earlier shapes left.
        for group in ([s for s in shapes if s != "connections"], [s for s in shapes if s == "connections"]):
            if not group:
                continue
            if name == "production":
                servers.flush_redis_db()  # presence counters and rate limits of the previous server
            proc = self.stack.start_asgi(f"{name}-{kind}", kind, "chatsite.asgi:application", env, cwd=self.app_root,
                                         ready_path="/accounts/login/")
            try:
                res.update(self.run_shapes(f"{name}/{kind}", "ours", [proc.port], [proc.pid],
                                           sets=self.sets_for(name, kind), idle_cookies=self.data[name].get("idle_cookies"),
                                           shapes=group, primary=primary))
                res.setdefault("server_alive_after", []).append(proc.alive())
                res.setdefault("server_errors", []).extend(errors_in_log(proc))
            finally:
                self.stack.stop(proc)
        self.results[name][kind] = res

    def scaleout(self):
        env, sets = self.env["production"], self.sets_for("production", "scaleout")
        if not servers.nginx_binary():
            self.skip("scale-out", "nginx is not installed (run bench/setup.sh)")
            return
        section = {"processes": 2, "server": "daphne", "balancer": "nginx (round robin)"}
        self.results["scaleout"] = section
        servers.flush_redis_db()
        procs = []
        try:
            for i in range(2):
                procs.append(self.stack.start_asgi(f"scaleout-daphne{i}", "daphne", "chatsite.asgi:application", env,
                                                   cwd=self.app_root, ready_path="/accounts/login/"))
            nginx = servers.start_nginx(self.stack, [p.port for p in procs])
            procs.append(nginx)
            pids = [p.pid for p in procs[:2]]
            section["via_nginx"] = self.run_shapes("scale-out/2xdaphne+nginx", "ours", [nginx.port], pids, sets=sets,
                                                   shapes=["latency", "fanout20", "fanout200"], primary=False)
            section["alive_after"] = [p.alive() for p in procs]
            section["server_errors"] = [errors_in_log(p) for p in procs[:2]]
        finally:
            for p in reversed(procs):
                self.stack.stop(p)

    def shapes_time(self, name, kind, shapes):
        """Seconds a stage took (for estimating a similar one)."""
        section = self.results.get(name, {}).get(kind) or {}
        return sum((section.get(s) or {}).get("duration_s", 0) for s in shapes)

    # --- pages -----------------------------------------------------------------------------------------
    def load_pages(self, names):
        """Bulk-load the page data of the given configurations at once: each load is one Python process
        (bulk_create is CPU-bound on the client side) and nothing is being measured meanwhile, so
        SQLite's and PostgreSQL's loads share the two cores instead of queueing."""
        a = self.args
        # Rows per second for each load when two run side by side (measured on 2 cores: ~10,000/s
        # alone on SQLite, ~8,300/s alone on PostgreSQL).
        rate = 6000 if len(names) > 1 else 9000
        left = a.budget - self.elapsed() - 70 * len(names)
        fit = int(max(0, left) * rate / 100_000) * 100_000
        count = a.pages_messages
        if fit < count:
            if fit < 100_000:
                for name in names:
                    self.skip(f"{name}/pages", f"time budget: {left:.0f} s left")
                return {}
            self.results["meta"]["notes"].append(f"pages: {fit:,} messages instead of {count:,} (time budget)")
            count = fit
        started = {}
        t0 = time.monotonic()
        for name in names:
            spec = {"prefix": f"{name[:3]}p", "conversations": a.pages_conversations, "messages": count}
            started[name] = self.start_setup(self.env[name], "pages", spec)
        out = {}
        for name, (popen, out_path) in started.items():
            try:
                stdout, stderr = popen.communicate(timeout=max(60, a.budget + 300 - self.elapsed()))
            except subprocess.TimeoutExpired:
                popen.kill()
                stdout, stderr = popen.communicate()
            if popen.returncode or not out_path.exists():
                self.results[name].setdefault("failed", []).append(f"pages load: {stderr[-3000:]}")
                log(f"! {name} pages load failed: {stderr[-500:]}")
                continue
            data = json.loads(out_path.read_text())
            insert_s = data["timings"]["bulk_insert_s"]
            self.results[name]["pages"] = {
                "messages": data["messages"], "conversations": data["conversations"],
                "total_messages_in_db": data["total_messages_in_db"], "gapless_sample_ok": data["gapless_sample_ok"],
                "setup_s": round(time.monotonic() - t0, 1), "timings": data["timings"],
                "loaded_alongside": [n for n in names if n != name],
                "insert_rows_per_s": round(data["inserted"] / insert_s) if insert_s else None,
                "queries": data["queries"]}
            log(f"{name}: {data['messages']:,} messages loaded (bulk_create {insert_s} s, "
                f"{self.results[name]['pages']['insert_rows_per_s']} rows/s"
                f"{', alongside ' + ', '.join(n for n in names if n != name) if len(names) > 1 else ''})")
            out[name] = data
        return out

    def measure_pages(self, name, data):
        a = self.args
        section = self.results[name]["pages"]
        if name == "production":
            servers.flush_redis_db()
        # Pages are timed on the server people run (`make run`, the Procfile): uvicorn when measured.
        kind = "uvicorn" if "uvicorn" in a.servers else a.servers[0]
        section["server"] = kind
        proc = self.stack.start_asgi(f"{name}-pages-{kind}", kind, "chatsite.asgi:application", self.env[name],
                                     cwd=self.app_root, ready_path="/accounts/login/")
        try:
            owner = data["owner"]
            cookie, how = owner["cookie"], "server-made session"
            try:
                cookie, how = form_login(proc.port, owner["username"], owner["password"]), "login form (POST /accounts/login/)"
            except Exception as e:  # noqa: BLE001
                self.results["meta"]["notes"].append(f"{name}: login form failed ({e}); used a server-made session")
            section["signed_in_by"] = how
            section["http"] = {}
            for view, urls in data["urls"].items():
                htmx = view in ("history", "search_htmx", "message_search")
                res = http_measure(proc.port, cookie, urls, a.page_requests, htmx=htmx)
                res["queries"] = {k: v for k, v in data["queries"][view].items() if k != "sql_sample"}
                section["http"][view] = res
                log(f"  {name}/pages {view:12s} p50 {res['ms']['p50']} p95 {res['ms']['p95']} ms, "
                    f"{res['queries']['min']}-{res['queries']['max']} queries, statuses {res['statuses']}")
            section["server_errors"] = errors_in_log(proc)
        finally:
            self.stack.stop(proc)

    def pages(self):
        names = [n for n in ("embedded", "production") if n in self.env]
        loaded = self.load_pages(names)
        for name, data in loaded.items():
            self.guard(name, lambda n=name, d=data: self.measure_pages(n, d))

    # --- the whole run -----------------------------------------------------------------------------
    def run(self):
        """Essential stages first (Daphne, scale-out, pages), then what the time budget leaves
        (uvicorn, the second ASGI server). Every stage's loops are bounded in time."""
        a = self.args
        log(f"bench: tmp {self.tmp}, app {self.app_root}, nofile {raise_nofile()}, budget {a.budget:.0f} s, "
            f"load {self.results['meta']['machine']['loadavg_at_start']}")
        ws = ["latency", "fanout20", "fanout200"]
        try:
            if "ceiling" in a.configs and "daphne" in a.servers:
                self.guard("ceiling", lambda: self.ceiling("daphne"))
            for name in ("embedded", "production"):
                if name not in a.configs:
                    continue
                self.guard(name, lambda n=name: self.prepare(n))
                if name in self.env and "daphne" in a.servers:
                    # The embedded Daphne run is the reference one: its latency shape gets the most time.
                    self.guard(name, lambda n=name: self.ours(n, "daphne", ws + ["connections"], primary=n == "embedded"))
                if name == "production" and name in self.env and not a.no_scaleout:
                    self.guard("scaleout", self.scaleout)
            if not a.no_pages:
                self.guard("pages", self.pages)
            # Optional: uvicorn while the budget lasts (the same shapes, connections only on request).
            if "uvicorn" in a.servers:
                if "ceiling" in a.configs and self.has_time(55, "ceiling/uvicorn"):
                    self.guard("ceiling", lambda: self.ceiling("uvicorn"))
                for name in ("embedded", "production"):
                    if name not in self.env:
                        continue
                    for shapes in (ws + (["connections"] if a.connections_all else []), ["latency", "fanout20"]):
                        est = 12 + self.shapes_time(name, "daphne", shapes)
                        if name == "embedded" and "latency" in shapes:
                            est -= max(0, self.shapes_time(name, "daphne", ["latency"]) - a.latency_max_s)
                        if self.has_time(est, f"{name}/uvicorn ({', '.join(shapes)})"):
                            self.guard(name, lambda n=name, sh=shapes: self.ours(n, "uvicorn", sh))
                            break
        finally:
            self.stack.close()
            self.cleanup()
        self.results["meta"]["total_s"] = round(self.elapsed(), 1)
        self.results["meta"]["finished"] = dt.datetime.now().isoformat(timespec="seconds")
        self.results["meta"]["loadavg_at_end"] = Path("/proc/loadavg").read_text().split()[:3]
        if self.args.source == "worktree":
            end = source_info("worktree")
            if end != self.results["meta"]["source"]:
                # Someone committed or edited app code during the run: later stages measured newer code.
                self.results["meta"]["source_at_end"] = end
                self.results["meta"]["notes"].append(
                    f"the app code changed during the run (commit {self.results['meta']['source']['commit']} at start, "
                    f"{end['commit']} at end, modified: {end['app_files_modified_in_worktree'] or 'none'})")
        return self.results

    def cleanup(self):
        """The temp dir holds the SQLite databases (a million messages: ~250 MB) and the server logs:
        removed unless a stage failed (then its logs help) or --keep-tmp."""
        import shutil

        failed = any(isinstance(v, dict) and v.get("failed") for v in self.results.values())
        if self.args.keep_tmp or failed:
            log(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def guard(self, name, fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001  (report what failed, keep what was measured)
            log(f"! {name} failed: {e}")
            self.results.setdefault(name, {}).setdefault("failed", []).append(traceback.format_exc()[-3000:])


# --- helpers -------------------------------------------------------------------------------------------
APP_DIRS = ("accounts", "messaging", "groups", "calls", "chatsite", "templates", "static")


def git(*args):
    r = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    return r.stdout.rstrip() if r.returncode == 0 else None  # rstrip: porcelain lines start with a space


def source_info(source):
    dirty = (git("status", "--porcelain", "--", *APP_DIRS) or "").splitlines()
    return {"source": source, "commit": git("rev-parse", "--short", "HEAD"),
            "app_files_modified_in_worktree": [line[3:] for line in dirty],
            "measured": "the committed HEAD (exported)" if source == "head" else
                        ("the work tree, with uncommitted app changes" if dirty else "the work tree (clean)")}


def export_head(tmp):
    """The committed code, away from edits in progress: git archive HEAD + collectstatic."""
    app = tmp / "app"
    app.mkdir()
    archive = subprocess.run(["git", "archive", "--format=tar", "HEAD"], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(app)], input=archive.stdout, check=True)
    env = servers.app_env(tmp / "var-collectstatic", False)
    servers.run_manage(env, "collectstatic", "--noinput", "-v0", cwd=app)
    return app


def errors_in_log(proc, n=15):
    lines = [ln for ln in proc.log_tail(400).splitlines()
             if re.search(r"Traceback|Error|Exception|CRITICAL", ln) and "favicon" not in ln]
    return lines[-n:]


def summary_line(res):
    if res.get("failed"):
        return "FAILED"
    p = res.get("phase")
    if p == "latency":
        return (f"e2e p50 {res['e2e_ms'].get('p50')} p99 {res['e2e_ms'].get('p99')} ms, ack p50 {res['ack_ms'].get('p50')}"
                f" ms, lost {res['lost']}, errors {res['errors']}")
    if p == "fanout":
        return (f"{res['accepted_per_s']} acc/s, {res['deliveries_per_s']} deliv/s, p99 {res['deliver_ms'].get('p99')} ms,"
                f" delivered {res['delivered_frac']}, lost {res['lost']}, dup {res['duplicated']},"
                f" cpu srv {res.get('server_cpu_pct')}% cli {res.get('client_cpu_pct')}%")
    if p == "connections":
        return (f"{res['connected']}/{res['requested']} open, {res['connects_per_s']}/s, "
                f"{res['rss_per_socket_kb']} KB/socket")
    return ""


def http_request(conn, method, path, headers, body=None):
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    return resp, data


def form_login(port, username, password):
    """Sign in as a person would: GET the form (CSRF cookie + token), POST it, keep the session cookie."""
    from urllib.parse import urlencode

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    resp, body = http_request(conn, "GET", "/accounts/login/", {"Host": "127.0.0.1"})
    csrf_cookie = re.search(r"csrftoken=([^;]+)", resp.getheader("Set-Cookie") or "").group(1)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
    form = urlencode({"login": username, "password": password, "csrfmiddlewaretoken": token})
    resp, _ = http_request(conn, "POST", "/accounts/login/", {
        "Host": "127.0.0.1", "Cookie": f"csrftoken={csrf_cookie}", "Content-Type": "application/x-www-form-urlencoded",
        "Referer": f"http://127.0.0.1:{port}/accounts/login/"}, form)
    cookies = resp.getheader("Set-Cookie") or ""
    m = re.search(r"sessionid=([^;]+)", cookies)
    conn.close()
    if resp.status not in (302, 303) or not m:
        raise RuntimeError(f"login answered {resp.status} without a session cookie")
    return f"sessionid={m.group(1)}"


def http_measure(port, cookie, urls, n, htmx=False):
    """Sequential keep-alive GETs; time from request to the last byte, as the client sees it."""
    headers = {"Host": "127.0.0.1", "Cookie": cookie}
    if htmx:
        headers["HX-Request"] = "true"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times, statuses, sizes = [], {}, []
    deadline = time.monotonic() + 120
    for i in range(n + 3):
        if time.monotonic() > deadline:
            break
        path = urls[i % len(urls)]
        t0 = time.perf_counter()
        resp, body = http_request(conn, "GET", path, headers)
        dt_s = time.perf_counter() - t0
        if i >= 3:  # three warm-up requests (templates, presence cache)
            times.append(dt_s)
            statuses[resp.status] = statuses.get(resp.status, 0) + 1
            sizes.append(len(body))
    conn.close()
    return {"requests": len(times), "urls": len(urls), "ms": benchlib.summ_ms(times),
            "statuses": {str(k): v for k, v in statuses.items()}, "bytes_median": sorted(sizes)[len(sizes) // 2]}


def save(results, quick):
    import report

    date = dt.date.today().isoformat()
    out_dir = RESULTS / ("quick" if quick else "")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    common = {"meta": results["meta"]}
    for name in ("ceiling", "embedded", "production", "scaleout"):
        if name in results:
            path = out_dir / f"{date}-{name}.json"
            path.write_text(json.dumps({**common, name: results[name],
                                        **({"ceiling": results.get("ceiling")} if name != "ceiling" else {})},
                                       indent=1, sort_keys=True))
            written.append(path)
    (out_dir / "latest.json").write_text(json.dumps(results, indent=1, sort_keys=True))
    md = report.markdown(results)
    (out_dir / "latest.md").write_text(md)
    written.append(out_dir / "latest.md")
    try:
        report.plot(results, out_dir / "latest.png")
        written.append(out_dir / "latest.png")
    except Exception as e:  # noqa: BLE001
        log(f"! plot failed: {e}")
    if not quick:
        report.update_docs(results, ROOT / "docs" / "performance.md")
        written.append(ROOT / "docs" / "performance.md")
    return written


# --- profiling ------------------------------------------------------------------------------------------
def profile(args):
    """py-spy on a fresh server (the first of --servers; embedded or production) under the fan-out 20 load.

    Sampling starts once the sockets are connected and quiet, and stops before the senders do, so
    the profile is of the steady fan-out only. Two passes: a flame graph (SVG) and the raw collapsed
    stacks, from which bench/report.py computes the hotspot shares."""
    import shutil
    import threading

    b = Bench(args)
    spy = shutil.which("py-spy") or str(Path(PY).parent / "py-spy")
    name = args.profile_config
    env = servers.app_env(b.tmp / "var-profile", name == "production")
    out = {"config": name, "source": b.results["meta"]["source"], "loadavg_at_start": benchlib.loadavg()}
    delay = 6.0  # connect 20 sockets and let their presence news settle
    try:
        if name == "production":
            servers.fresh_postgres_db()
            servers.flush_redis_db()
        servers.run_manage(env, "migrate", "--noinput", "-v0", cwd=b.app_root)
        data = b.setup_data(env, "users", {"prefix": "prf", "sets": [
            {"name": f"p{i}-{k}", "kind": "direct" if k == "lat" else "group", "members": m}
            for i in range(2) for k, m in (("lat", 2), ("f20", 20), ("f200", 200))]})
        kind = args.servers[0]
        proc = b.stack.start_asgi(f"profile-{kind}", kind, "chatsite.asgi:application", env, cwd=b.app_root,
                                  ready_path="/accounts/login/")
        RESULTS.mkdir(exist_ok=True)
        args.fanout_s = args.profile_s + 4
        for i, fmt in enumerate(("flamegraph", "raw")):
            sets = {k: data["sets"][f"p{i}-{k}"] for k in ("lat", "f20", "f200")}
            target = RESULTS / (f"profile-{name}.svg" if fmt == "flamegraph" else f"profile-{name}.txt")
            holder = {}

            def start_spy(target=target, fmt=fmt, holder=holder):
                holder["p"] = subprocess.Popen(
                    [spy, "record", "-o", str(target), "--pid", str(proc.pid), "--duration", str(args.profile_s),
                     "--rate", "250", "--format", fmt, "--nonblocking"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

            timer = threading.Timer(delay, start_spy)
            timer.start()
            res = b.run_shapes(f"profile/{name}", "ours", [proc.port], [proc.pid], sets=sets, shapes=["fanout20"])
            timer.cancel()
            err = ""
            if "p" in holder:
                try:
                    _, err = holder["p"].communicate(timeout=args.profile_s + 30)
                except subprocess.TimeoutExpired:
                    holder["p"].kill()
                    err = "py-spy timed out"
            out[fmt] = {"file": str(target.relative_to(ROOT)), "py_spy_rc": holder["p"].returncode if "p" in holder else None,
                        "py_spy_stderr": (err or "")[-400:], "fanout20": res["fanout20"]}
        b.stack.stop(proc)
    finally:
        b.stack.close()
        b.cleanup()
    raw = RESULTS / f"profile-{name}.txt"
    if raw.exists():
        import report
        out["hotspots"] = report.hotspots(raw.read_text())
        (RESULTS / f"profile-{name}.json").write_text(json.dumps(out, indent=1))
        print(report.hotspots_markdown(out["hotspots"]))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", default="ceiling,embedded,production",
                    help="comma-separated subset of ceiling,embedded,production (production includes scale-out)")
    ap.add_argument("--servers", default="daphne,uvicorn", help="ASGI servers, Daphne first")
    ap.add_argument("--budget", type=float, default=840, help="seconds; optional parts are skipped to stay within")
    ap.add_argument("--latency-msgs", type=int, default=2000)
    ap.add_argument("--latency-primary-max-s", type=float, default=60,
                    help="time bound of the latency shape on embedded/Daphne (the reference run)")
    ap.add_argument("--latency-max-s", type=float, default=20, help="time bound of the other latency shapes")
    ap.add_argument("--connections-max-s", type=float, default=70, help="time bound for opening the idle sockets")
    ap.add_argument("--connect-concurrency", type=int, default=16)
    ap.add_argument("--fanout-s", type=float, default=15)
    ap.add_argument("--fanout200-s", type=float, default=8)
    ap.add_argument("--idle", type=int, default=5000, help="idle sockets of the connection test")
    ap.add_argument("--connections-all", action=argparse.BooleanOptionalAction, default=True,
                    help="the connection test on uvicorn too (the default server of make run)")
    ap.add_argument("--pages-messages", type=int, default=1_000_000)
    ap.add_argument("--pages-conversations", type=int, default=500)
    ap.add_argument("--page-requests", type=int, default=50)
    ap.add_argument("--no-pages", action="store_true")
    ap.add_argument("--no-scaleout", action="store_true")
    ap.add_argument("--source", default="worktree", choices=["worktree", "head"],
                    help="benchmark the work tree (default) or the committed HEAD, exported to a temp dir")
    ap.add_argument("--quick", action="store_true", help="small counts, results under bench/results/quick/")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (databases, server logs)")
    ap.add_argument("--report-only", action="store_true",
                    help="rewrite the tables, plot and docs from bench/results/latest.json without measuring")
    ap.add_argument("--profile", action="store_true", help="py-spy the server under fan-out 20 instead")
    ap.add_argument("--profile-config", default="embedded", choices=["embedded", "production"])
    ap.add_argument("--profile-s", type=int, default=20)
    args = ap.parse_args()
    args.configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    if args.quick:
        args.latency_msgs, args.fanout_s, args.fanout200_s = 300, 4, 3
        args.idle, args.pages_messages, args.pages_conversations, args.page_requests = 300, 20_000, 50, 15
        args.latency_primary_max_s, args.latency_max_s, args.connections_max_s = 15, 10, 30
    if args.profile:
        profile(args)
        return
    if args.report_only:
        results = json.loads((RESULTS / ("quick" if args.quick else "") / "latest.json").read_text())
        for path in save(results, args.quick):
            log(f"wrote {path.relative_to(ROOT)}")
        return
    bench = Bench(args)
    results = bench.run()
    for path in save(results, args.quick):
        log(f"wrote {path.relative_to(ROOT)}")
    log(f"total {results['meta']['total_s']} s")


if __name__ == "__main__":
    main()
