#!/usr/bin/env python3
"""WebSocket load client: the workload shapes of ../shared/bench-reference (ws_bench.py), for two
protocols, so that our server and the raw-broadcast ceiling are measured by the same code.

    python bench/client.py SPEC.json OUT.json

SPEC (written by bench/run.py):
  proto: "ours" (README "The WebSocket protocol": message.send -> message.ack + message.created to
         every member, the sender included) or "raw" (raw_broadcast.py: every frame comes back to
         everybody in the room, the sender included; its echo is its ack).
  phase: "latency" | "fanout" | "connections"
  members: [{"url": ..., "headers": {...}}]  one entry per socket (cookie + Origin for "ours")
  conversation, msgs, senders, duration, max_msgs, drain, pad, server_pids, hard_wall_s, ...

Each phase is bounded in count and in time (and by hard_wall_s for the whole run) and stops by
itself. Percentiles are benchlib's nearest-rank ones.
"""

import asyncio
import itertools
import json
import os
import resource
import sys
import time
from collections import Counter
from pathlib import Path

from websockets.asyncio.client import connect

HERE = Path(__file__).resolve().parent
REFERENCE = HERE.parent.parent / "shared" / "bench-reference"
sys.path.insert(0, str(REFERENCE))
import benchlib  # noqa: E402  (pctl, summ_ms, CpuMeter, loadavg: stdlib only)


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Meter(benchlib.CpuMeter):
    """benchlib's CpuMeter plus the whole machine's busy CPU from /proc/stat, so that a phase run
    while something else loads the machine (a test suite, a browser) can be recognised."""

    @staticmethod
    def _stat():
        with open("/proc/stat") as f:
            parts = [int(x) for x in f.readline().split()[1:]]
        idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
        return sum(parts), idle

    def start(self):
        self.m0 = self._stat()
        super().start()

    def stop(self):
        out = super().stop()
        total1, idle1 = self._stat()
        dt_total, dt_idle = total1 - self.m0[0], idle1 - self.m0[1]
        ncpu = os.cpu_count() or 1
        if dt_total > 0:
            busy = 100.0 * ncpu * (dt_total - dt_idle) / dt_total
            out["machine_busy_pct"] = round(busy, 1)
            out["other_cpu_pct"] = round(max(0.0, busy - out.get("server_cpu_pct", 0) - out["client_cpu_pct"]), 1)
        return out


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


# --- protocols ----------------------------------------------------------------------------------
class Ours:
    """Frames of our protocol. parse() -> (kind, key, seq) with kind in {"ack", "created", "error", None}."""

    name = "ours"
    hello = True  # the server says hello once the socket is authenticated and subscribed

    def __init__(self, spec):
        self.conversation = spec.get("conversation")
        self.pad = "x" * int(spec.get("pad", 100))
        self.types = Counter()  # every frame type received, for the record

    def frame(self, key):
        return json.dumps({"type": "message.send", "conversation": self.conversation,
                           "body": f"bench {key} {self.pad}", "client_id": key})

    def parse(self, text):
        frame = json.loads(text)
        t = frame.get("type")
        self.types[t] += 1
        if t == "message.created":
            if frame.get("conversation") != self.conversation:
                return None, None, None
            return "created", frame.get("client_id"), frame.get("seq")
        if t == "message.ack":
            return "ack", frame.get("client_id"), frame.get("seq")
        if t == "error":
            return "error", frame.get("client_id"), None
        if t == "hello":
            return "hello", None, None
        return None, None, None  # presence.changed, receipt.updated, ...: ignored


class Raw:
    name = "raw"
    hello = False

    def __init__(self, spec):
        self.pad = "x" * int(spec.get("pad", 100))

    def frame(self, key):
        return f"{key}:0:{self.pad}"

    def parse(self, text):
        return "created", text.split(":", 1)[0], None


async def open_socket(member, proto, timeout=30):
    """Open one socket; for "ours", wait for the hello frame (authenticated and subscribed)."""
    ws = await connect(member["url"], additional_headers=member.get("headers") or {}, compression=None,
                       ping_interval=None, max_size=2**22, open_timeout=timeout, close_timeout=2,
                       max_queue=None)
    upstream = ws.response.headers.get("X-Upstream") if ws.response is not None else None
    if proto.hello:
        deadline = time.perf_counter() + timeout
        while True:
            text = await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.perf_counter()))
            if proto.parse(text)[0] == "hello":
                break
    return ws, upstream


async def open_all(members, proto, concurrency=16):
    sem = asyncio.Semaphore(concurrency)

    async def one(m):
        async with sem:
            return await open_socket(m, proto)

    pairs = await asyncio.gather(*(one(m) for m in members))
    return [p[0] for p in pairs], [p[1] for p in pairs]


async def close_all(conns, timeout=5):
    async def one(ws):
        try:
            await asyncio.wait_for(ws.close(), timeout)
        except Exception:  # noqa: BLE001  (the server may already be gone)
            pass
    await asyncio.gather(*(one(ws) for ws in conns))


async def quiet(conns, readers_state, quiet_s=0.5, max_s=20.0):
    """Wait until no socket received anything for quiet_s (presence news after connecting)."""
    t_end = time.perf_counter() + max_s
    while time.perf_counter() < t_end:
        if time.perf_counter() - readers_state["last_rx"] >= quiet_s:
            return True
        await asyncio.sleep(0.05)
    return False


# --- latency ---------------------------------------------------------------------------------------
async def phase_latency(spec, proto):
    members = spec["members"][:2]
    (a, b), upstreams = await open_all(members, proto, 2)
    # Behind a load balancer, A and B must sit on different processes: the message has to cross
    # the channel layer (Redis). Reconnect B until nginx gives it the other process (bounded).
    for _ in range(6):
        if upstreams[0] is None or upstreams[0] != upstreams[1]:
            break
        await close_all([b])
        b, upstreams[1] = await open_socket(members[1], proto)
    tag = spec.get("tag", "L")
    state = {"key": None, "last_rx": time.perf_counter()}
    got = {}
    ev = {"a_ack": asyncio.Event(), "a_echo": asyncio.Event(), "b": asyncio.Event()}
    seqs_b, errors = [], []

    async def reader(ws, who):
        try:
            async for text in ws:
                t = time.perf_counter()
                state["last_rx"] = t
                kind, key, seq = proto.parse(text)
                if kind is None or key != state["key"] or state["key"] is None:
                    if kind == "error":
                        errors.append(text[:300])
                    continue
                if who == "a":
                    if kind == "ack" or (kind == "created" and not isinstance(proto, Ours)):
                        got["a_ack"] = t
                        ev["a_ack"].set()
                    if kind == "created":
                        got["a_echo"] = t
                        ev["a_echo"].set()
                elif kind == "created":
                    got["b"] = t
                    seqs_b.append(seq)
                    ev["b"].set()
        except Exception:  # noqa: BLE001  (closed at the end)
            pass

    tasks = [asyncio.create_task(reader(a, "a")), asyncio.create_task(reader(b, "b"))]
    await quiet([a, b], state, 0.3, 5)
    e2e, ack, echo, lost = [], [], [], 0
    deadline = time.perf_counter() + float(spec.get("max_s", 120))
    meter = Meter(spec.get("server_pids", []))
    meter.start()
    sent = 0
    for i in range(int(spec.get("msgs", 2000))):
        if time.perf_counter() > deadline:
            break
        for e in ev.values():
            e.clear()
        got.clear()
        key = f"{tag}-{i}"
        state["key"] = key
        t0 = time.perf_counter()
        await a.send(proto.frame(key))
        sent += 1
        try:
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in ev.values())), 10)
            e2e.append(got["b"] - t0)
            ack.append(got["a_ack"] - t0)
            echo.append(got["a_echo"] - t0)
        except TimeoutError:
            lost += 1
    cpu = meter.stop()
    await close_all([a, b])
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    gaps = sum(1 for x, y in zip(seqs_b, seqs_b[1:], strict=False) if x is not None and y is not None and y != x + 1)
    return {"phase": "latency", "members": 2, "sent": sent, "lost": lost, "errors": len(errors),
            "error_samples": errors[:3], "seq_gaps": gaps, "upstreams": upstreams,
            "e2e_ms": benchlib.summ_ms(e2e), "ack_ms": benchlib.summ_ms(ack), "echo_ms": benchlib.summ_ms(echo),
            "msgs_per_s_sequential": round(sent / cpu["wall_s"], 1) if cpu["wall_s"] else None, **cpu}


# --- fan-out ---------------------------------------------------------------------------------------
async def phase_fanout(spec, proto):
    members = spec["members"]
    n = len(members)
    conns, upstreams = await open_all(members, proto, int(spec.get("connect_concurrency", 16)))
    tag = spec.get("tag", "F")
    n_senders = min(int(spec.get("senders", 8)), n)
    send_t = {}  # key -> perf_counter at send
    received = [dict() for _ in range(n)]  # per member: key -> times received
    dlat = []
    state = {"last_rx": time.perf_counter(), "total": 0, "in_window": 0, "sending": False, "last_created": 0.0}
    waiters = {}  # (key, "ack"|"echo") -> future
    errors = []

    async def reader(i, ws):
        rec = received[i]
        try:
            async for text in ws:
                t = time.perf_counter()
                state["last_rx"] = t
                kind, key, _seq = proto.parse(text)
                if kind is None or key is None:
                    continue
                if kind == "created":
                    t0 = send_t.get(key)
                    if t0 is None:
                        continue  # not one of ours (system message, an older run)
                    rec[key] = rec.get(key, 0) + 1
                    state["total"] += 1
                    state["last_created"] = t
                    if state["sending"]:
                        state["in_window"] += 1
                    dlat.append(t - t0)
                    w = waiters.pop((key, "echo", i), None)
                    if w is not None and not w.done():
                        w.set_result(t)
                    if not isinstance(proto, Ours):
                        w = waiters.pop((key, "ack", i), None)
                        if w is not None and not w.done():
                            w.set_result(t)
                elif kind == "ack":
                    w = waiters.pop((key, "ack", i), None)
                    if w is not None and not w.done():
                        w.set_result(t)
                elif kind == "error":
                    errors.append(text[:300])
                    for what in ("ack", "echo"):
                        w = waiters.pop((key, what, i), None)
                        if w is not None and not w.done():
                            w.set_exception(RuntimeError(text[:200]))
        except Exception:  # noqa: BLE001
            pass

    readers = [asyncio.create_task(reader(i, ws)) for i, ws in enumerate(conns)]
    settled = await quiet(conns, state, 0.5, float(spec.get("settle_max_s", 20)))
    counter = itertools.count()
    ctr = {"ok": 0, "timeouts": 0, "errors": 0}
    ack_lat = []
    max_msgs = int(spec.get("max_msgs", 1_000_000))
    loop = asyncio.get_running_loop()
    t_start = time.perf_counter()
    t_end = t_start + float(spec.get("duration", 15))
    state["sending"] = True
    # Senders are spread over the members (and so over the server processes in scale-out runs).
    sender_idx = [round(k * n / n_senders) % n for k in range(n_senders)]

    async def sender(i):
        ws = conns[i]
        while time.perf_counter() < t_end:
            j = next(counter)
            if j >= max_msgs:
                break
            key = f"{tag}-{i}-{j}"
            f_ack, f_echo = loop.create_future(), loop.create_future()
            waiters[(key, "ack", i)] = f_ack
            waiters[(key, "echo", i)] = f_echo
            t0 = time.perf_counter()
            send_t[key] = t0
            await ws.send(proto.frame(key))
            try:
                t_ack, _ = await asyncio.wait_for(asyncio.gather(f_ack, f_echo), 10)
                ack_lat.append(t_ack - t0)
                ctr["ok"] += 1
            except TimeoutError:
                ctr["timeouts"] += 1
            except RuntimeError:
                ctr["errors"] += 1
            finally:
                waiters.pop((key, "ack", i), None)
                waiters.pop((key, "echo", i), None)

    meter = Meter(spec.get("server_pids", []))
    meter.start()
    await asyncio.gather(*(sender(i) for i in sender_idx))
    t_send_done = time.perf_counter()
    state["sending"] = False
    cpu = meter.stop()
    sent = len(send_t)
    expected = sent * n
    drain_until = t_send_done + float(spec.get("drain", 10))
    while state["total"] < expected and time.perf_counter() < drain_until:
        await asyncio.sleep(0.02)
    await close_all(conns)
    for t in readers:
        t.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    keys = set(send_t)
    unique = sum(len(r) for r in received)
    lost = sum(len(keys - r.keys()) for r in received)
    dup = sum(c - 1 for r in received for c in r.values() if c > 1)
    per_member = [len(r) for r in received]
    send_window = t_send_done - t_start
    last = state["last_created"] or t_send_done
    ups = {}
    for u in upstreams:
        ups[str(u)] = ups.get(str(u), 0) + 1
    return {
        "phase": "fanout", "members": n, "senders": n_senders, "settled_before_start": settled,
        "sent": sent, "accepted": ctr["ok"], "timeouts": ctr["timeouts"], "errors": ctr["errors"],
        "error_samples": errors[:3], "send_window_s": round(send_window, 3),
        "accepted_per_s": round(ctr["ok"] / send_window, 1) if send_window else 0,
        "deliveries": state["total"], "unique_deliveries": unique, "expected_deliveries": expected,
        "delivered_frac": round(unique / expected, 4) if expected else None,
        "lost": lost, "duplicated": dup,
        "deliveries_per_s": round(state["total"] / (last - t_start), 1) if state["total"] else 0,
        "deliveries_per_s_in_window": round(state["in_window"] / send_window, 1) if send_window else 0,
        "drain_s": round(max(0.0, last - t_send_done), 3),
        "deliver_ms": benchlib.summ_ms(dlat), "ack_ms": benchlib.summ_ms(ack_lat),
        "min_per_member": min(per_member), "max_per_member": max(per_member), "upstreams": ups, **cpu,
    }


# --- idle connections ---------------------------------------------------------------------------
async def phase_connections(spec, proto):
    members = spec["members"]
    pid = (spec.get("server_pids") or [None])[0]
    concurrency = int(spec.get("connect_concurrency", 50))
    sem = asyncio.Semaphore(concurrency)
    conns, lat, failures = [], [], []
    # A few sockets first, so that what the first socket costs once (imports, caches) is not
    # counted per socket; RSS is read after them.
    warmup = min(int(spec.get("warmup", 50)), len(members) // 10)
    for m in members[:warmup]:
        try:
            ws, _ = await open_socket(m, proto, timeout=30)
            conns.append(ws)
        except Exception as e:  # noqa: BLE001
            failures.append(f"warmup {type(e).__name__}: {e}"[:200])
    await asyncio.sleep(1.0)
    rss0 = rss_kb(pid) if pid else None
    n_warm = len(conns)
    members = members[warmup:]
    deadline = time.perf_counter() + float(spec.get("max_s", 180))

    async def one(m):
        async with sem:
            if time.perf_counter() > deadline:
                failures.append("deadline")
                return
            t0 = time.perf_counter()
            try:
                ws, _ = await open_socket(m, proto, timeout=30)
            except Exception as e:  # noqa: BLE001
                failures.append(f"{type(e).__name__}: {e}"[:200])
                return
            lat.append(time.perf_counter() - t0)
            conns.append(ws)

    meter = Meter(spec.get("server_pids", []))
    meter.start()
    t0 = time.perf_counter()
    await asyncio.gather(*(one(m) for m in members))
    wall = time.perf_counter() - t0
    cpu = meter.stop()
    # Let the server finish what connecting set off (presence news), then read its memory.
    await asyncio.sleep(float(spec.get("settle_s", 3)))
    rss1 = rss_kb(pid) if pid else None
    still_open = sum(1 for ws in conns if ws.state.name == "OPEN")
    measured = len(conns) - n_warm
    result = {
        "phase": "connections", "requested": len(members) + warmup, "connected": len(conns), "still_open": still_open,
        "warmup_sockets": n_warm, "failures": len(failures), "failure_samples": failures[:3],
        "connect_wall_s": round(wall, 3), "connects_per_s": round(measured / wall, 1) if wall else None,
        "connect_ms": benchlib.summ_ms(lat), "rss_before_kb": rss0, "rss_after_kb": rss1,
        "rss_per_socket_kb": round((rss1 - rss0) / measured, 2) if (rss0 and rss1 and measured > 0) else None,
        "deadline_hit": any(f == "deadline" for f in failures), **cpu,
    }
    # Dropping 5,000 sockets makes the server write each user's last_seen: not measured, and the
    # caller stops the server right after, so a short, bounded close is enough.
    await close_all(conns, timeout=2)
    return result


PHASES = {"latency": phase_latency, "fanout": phase_fanout, "connections": phase_connections}


async def main_async(spec):
    proto = Ours(spec) if spec["proto"] == "ours" else Raw(spec)
    load0 = benchlib.loadavg()
    result = await PHASES[spec["phase"]](spec, proto)
    if getattr(proto, "types", None):
        result["frame_types"] = dict(proto.types)
    result.update({"proto": proto.name, "label": spec.get("label"), "loadavg_before": load0,
                   "loadavg_after": benchlib.loadavg()})
    return result


def main():
    spec_path, out_path = sys.argv[1:3]
    spec = json.loads(Path(spec_path).read_text())
    for m in spec["members"]:
        if not m["url"].startswith(("ws://127.0.0.1", "ws://localhost", "ws://[::1]")):
            sys.exit("loopback only")
    raise_nofile()
    coro = asyncio.wait_for(main_async(spec), float(spec.get("hard_wall_s", 300)))
    try:
        import uvloop  # as ws_bench.py does
        result = uvloop.run(coro)
    except ImportError:
        result = asyncio.run(coro)
    Path(out_path).write_text(json.dumps(result))
    print(json.dumps({k: v for k, v in result.items() if not isinstance(v, (list, dict))}), flush=True)


if __name__ == "__main__":
    main()
