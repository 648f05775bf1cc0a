#!/usr/bin/env python3
"""Memory that follows the data: publishes N single-file schemas into one
namespace, promotes, then R rounds of a new version of every schema, each
promoted; prints the server's resident size (VmRSS) after each round, then
restarts the server on the same database and prints its size again.

    benches/load/memory.py BINARY [--schemas 1000] [--rounds 4]

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


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


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
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        db = os.path.join(work, "protoreg.db")
        proc, base = start(a.binary, db, free_port())
        try:
            sizes = []
            for r in range(a.rounds + 1):
                publish_round(base, a.schemas, r)
                time.sleep(0.5)
                sizes.append(rss_mib(proc.pid))
                print(f"round {r}: {sizes[-1]:.0f} MiB", flush=True)
        finally:
            proc.terminate(); proc.wait()
        proc, base = start(a.binary, db, free_port())
        try:
            call(base, "GET", "/v1/namespaces/mem/descriptor")
            restarted = rss_mib(proc.pid)
        finally:
            proc.terminate(); proc.wait()
        print(f"restarted: {restarted:.0f} MiB; steady/restarted = {sizes[-1] / restarted:.2f}")


if __name__ == "__main__":
    main()
