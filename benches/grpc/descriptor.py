"""gRPC GetDescriptor vs HTTP descriptor GET, in one run against one server.

Starts `protoreg serve` (SQLite, a temp dir), publishes and promotes one
schema, then for each transport runs CLIENTS threads, each making REQUESTS
calls over its own connection (gRPC: one channel per thread; HTTP: one
keep-alive connection per thread), and prints calls per second and the
ratio. Stubs are generated from client/proto with grpcio-tools.

    python3 benches/grpc/descriptor.py [--binary target/release/protoreg]
        [--clients 4] [--requests 2000]
"""

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import grpc
import grpc_tools
from grpc_tools import protoc

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

SOURCE = """syntax = "proto3";
package bench;
import "google/protobuf/timestamp.proto";
message Order {
  string id = 1;
  repeated Line lines = 2;
  google.protobuf.Timestamp at = 3;
  map<string, string> labels = 4;
}
message Line {
  string sku = 1;
  int64 units = 2;
  Money price = 3;
}
message Money {
  string currency = 1;
  int64 units = 2;
  int32 nanos = 3;
}
"""


def stubs(out):
    os.makedirs(out, exist_ok=True)
    include = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    code = protoc.main(
        ["protoc", f"-I{ROOT}/client/proto", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}",
         "protoregistry/v1/registry.proto"]
    )
    if code:
        sys.exit("protoc failed")
    sys.path.insert(0, out)
    import importlib
    return importlib.import_module("protoregistry.v1.registry_pb2"), importlib.import_module(
        "protoregistry.v1.registry_pb2_grpc"
    )


def run(clients, requests, make_call):
    barrier = threading.Barrier(clients + 1)
    errors = []

    def worker():
        call = make_call()
        barrier.wait()
        try:
            for _ in range(requests):
                call()
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        sys.exit(f"errors: {errors[:3]}")
    return clients * requests / elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "protoreg"))
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="protoreg-grpc-bench-")
    pb, rpc = stubs(os.path.join(work, "gen"))
    env = dict(os.environ, PROTOREG_LOG__LEVEL="warn", PROTOREG_GRPC__LISTEN="127.0.0.1:0")
    server = subprocess.Popen(
        [args.binary, "serve", "--listen", "127.0.0.1:0", "--database-url", f"sqlite://{work}/db.sqlite"],
        cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        grpc_addr = re.search(r"grpc listening on http://(\S+)", server.stdout.readline()).group(1)
        http_addr = re.search(r"listening on http://(\S+)", server.stdout.readline()).group(1)
        for _ in range(600):
            try:
                if urllib.request.urlopen(f"http://{http_addr}/readyz").status == 200:
                    break
            except Exception:  # noqa: BLE001 - not ready yet
                time.sleep(0.05)
        body = json.dumps({"sources": {"bench/order.proto": SOURCE}}).encode()
        req = urllib.request.Request(
            f"http://{http_addr}/v1/namespaces/bench/schemas/order/versions", data=body,
            headers={"content-type": "application/json"}, method="POST")
        urllib.request.urlopen(req).read()
        req = urllib.request.Request(f"http://{http_addr}/v1/namespaces/bench/promote", data=b"{}",
                                     headers={"content-type": "application/json"}, method="POST")
        urllib.request.urlopen(req).read()
        path = "/v1/namespaces/bench/schemas/order/versions/current/descriptor"

        def grpc_call():
            stub = rpc.RegistryServiceStub(grpc.insecure_channel(grpc_addr))
            request = pb.GetDescriptorRequest(namespace_id="bench", schema_id="order")
            return lambda: stub.GetDescriptor(request)

        def http_call():
            host, port = http_addr.rsplit(":", 1)
            conn = http.client.HTTPConnection(host, int(port))

            def call():
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                assert response.status == 200, response.status
            return call

        # The same bytes both ways.
        grpc_set = grpc_call()().file_descriptor_set.SerializeToString()
        http_set = urllib.request.urlopen(f"http://{http_addr}{path}").read()
        print(f"descriptor set: {len(http_set)} bytes over HTTP, {len(grpc_set)} re-encoded from gRPC")
        for round_ in range(args.rounds):
            g = run(args.clients, args.requests, grpc_call)
            h = run(args.clients, args.requests, http_call)
            print(f"round {round_ + 1}: gRPC GetDescriptor {g:.0f}/s, HTTP GET {h:.0f}/s, gRPC/HTTP {g / h:.2f}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
