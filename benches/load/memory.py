#!/usr/bin/env python3
"""Memory that follows the data: publishes N single-file schemas into one
namespace, promotes, then R rounds of a new version of every schema, each
promoted; prints the server's resident size (VmRSS) after each round, then
restarts the server on the same database and prints its size again.

    benches/load/memory.py BINARY [--schemas 1000] [--rounds 4] [--settle 3]

Environment variables of the server (MALLOC_ARENA_MAX, ...) pass through.
"""
import argparse, json, os, socket, subprocess, sys, tempfile, time, urllib.request
from concurrent.futures import ThreadPoolExecutor


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def start(binary, db, port):
    env = dict(os.environ, PROTOREG_DATABASE__URL=f"sqlite://{db}",
               PROTOREG_LISTEN=f"127.0.0.1:{port}", PROTOREG_LOG__LEVEL="warn",
               PROTOREG_GRPC__LISTEN="")
    proc = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if urllib.request.urlopen(base + "/readyz").status == 200:
                return proc, base
        except Exception:
            time.sleep(0.1)
    raise SystemExit("server never became ready")


def status_mib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def rss_mib(pid):
    return status_mib(pid, "VmRSS")


def parts(pid):
    """VmRSS split: anonymous (heap, stacks) and file-backed (the SQLite
    file mapped with PRAGMA mmap_size: page cache, shared, reclaimable)."""
    return (f"anon {status_mib(pid, 'RssAnon'):.0f} MiB, "
            f"file {status_mib(pid, 'RssFile'):.0f} MiB")


def call(base, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(req, timeout=120) as r:
        return r.status


def publish_round(base, schemas, round_no):
    def one(i):
        src = (f'syntax = "proto3";\npackage s{i};\nmessage M{i} {{\n'
               + "".join(f"  string f{k} = {k};\n" for k in range(1, round_no + 3)) + "}\n")
        return call(base, "POST", f"/v1/namespaces/mem/schemas/s{i}/versions",
                    {"sources": {f"s{i}/m.proto": src}})
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(one, range(schemas)))
    assert all(s == 201 for s in statuses), statuses[:5]
    assert call(base, "POST", "/v1/namespaces/mem/promote") == 200


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--schemas", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--settle", type=float, default=3.0,
                    help="seconds after each round before measuring (the server "
                         "gives freed heap back every memory.trim_interval_ms, 2 s)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        db = os.path.join(work, "protoreg.db")
        proc, base = start(a.binary, db, free_port())
        try:
            sizes, anon = [], []
            for r in range(a.rounds + 1):
                publish_round(base, a.schemas, r)
                time.sleep(a.settle)
                sizes.append(rss_mib(proc.pid))
                anon.append(status_mib(proc.pid, "RssAnon"))
                print(f"round {r}: {sizes[-1]:.0f} MiB ({parts(proc.pid)})", flush=True)
        finally:
            proc.terminate(); proc.wait()
        proc, base = start(a.binary, db, free_port())
        try:
            call(base, "GET", "/v1/namespaces/mem/descriptor")
            # The running server built the namespace's descriptor pool when it
            # promoted (to check the link); a restored one builds it on the
            # first use of a type. Use one, so both hold the same data.
            call(base, "GET", "/v1/namespaces/mem/types/s0.M0")
            time.sleep(a.settle)
            restarted = rss_mib(proc.pid)
            restarted_anon = status_mib(proc.pid, "RssAnon")
            restarted_parts = parts(proc.pid)
        finally:
            proc.terminate(); proc.wait()
        print(f"restarted: {restarted:.0f} MiB ({restarted_parts}); "
              f"steady/restarted = {sizes[-1] / restarted:.2f} (VmRSS), "
              f"{anon[-1] / restarted_anon:.2f} (anonymous)")


if __name__ == "__main__":
    main()
