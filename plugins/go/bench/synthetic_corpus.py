#!/usr/bin/env python3
"""Writes N synthetic proto3 files (default 1000) under DIR for timing the
Go generator against protoc-gen-go: each file has an enum, six messages
with maps, oneofs, nested messages, imports of earlier files, and every
tenth file a service. Usage: synthetic_corpus.py DIR [N]"""
import os
import sys

root = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
for i in range(count):
    directory = os.path.join(root, f"bench/p{i:04d}")
    os.makedirs(directory, exist_ok=True)
    imports = [f"bench/p{j:04d}/types.proto" for j in (i - 1, i - 7) if j >= 0]
    lines = ['syntax = "proto3";', "", f"// Package p{i}: synthetic benchmark file.", f"package bench.p{i:04d};", ""]
    lines += [f'import "{p}";' for p in imports] + ['import "google/protobuf/timestamp.proto";', ""]
    lines += [f'option go_package = "example.com/bench/p{i:04d};p{i:04d}";', ""]
    lines += ["// State of a thing.", "enum State {", "  STATE_UNSPECIFIED = 0;", "  STATE_ON = 1; // on", "  STATE_OFF = 2;", "}", ""]
    for m in range(6):
        lines += [f"// Message{m} carries data.", f"message Message{m} {{",
                  "  string name = 1; // the name", "  int64 count = 2;", "  repeated string tags = 3;",
                  "  map<string, int32> scores = 4;", "  google.protobuf.Timestamp at = 5;", "  State state = 6;",
                  "  optional double ratio = 7;", "  oneof choice {", "    string text = 8;", "    int32 number = 9;", "  }",
                  "  message Inner { bytes payload = 1; }", "  Inner inner = 10;"]
        if imports:
            lines.append(f"  bench.p{i - 1:04d}.Message{m} previous = 11;")
        lines += ["}", ""]
    if i % 10 == 0:
        lines += ["service Things {", "  rpc Get(Message0) returns (Message1);",
                  "  rpc Watch(Message0) returns (stream Message2);", "}", ""]
    with open(os.path.join(directory, "types.proto"), "w") as out:
        out.write("\n".join(lines))
