#!/usr/bin/env bash
# Times protoreg-plugin-go against protoc-gen-go and protoc-gen-go-grpc on
# one CodeGeneratorRequest for 1,000 synthetic files, and checks that the
# responses are byte-identical. Usage: plugins/go/bench/time.sh [N]
set -euo pipefail
cd "$(dirname "$0")/../../.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 plugins/go/bench/synthetic_corpus.py "$work/protos" "${1:-1000}"
# A plugin that only records the request protoc sends (protoc then
# complains that it lacks proto3-optional support; the request is written).
printf '#!/bin/sh\ncat > "%s/request.bin"\n' "$work" > "$work/dump" && chmod +x "$work/dump"
(cd "$work/protos" && protoc -I. --plugin=protoc-gen-dump="$work/dump" --dump_out="$work" \
  $(find bench -name '*.proto' | sort) >/dev/null 2>&1 || true)
cargo build -q --release -p protoreg-plugin-go --example generate
ours="${CARGO_TARGET_DIR:-target}/release/examples/generate"
for plugin in go go-grpc; do
  flag=(); [ "$plugin" = go-grpc ] && flag=(--grpc)
  echo "protoc-gen-$plugin:"; time "/usr/bin/protoc-gen-$plugin" < "$work/request.bin" > "$work/reference.bin"
  echo "protoreg-plugin-go:"; time "$ours" "${flag[@]}" < "$work/request.bin" > "$work/ours.bin"
  cmp "$work/reference.bin" "$work/ours.bin" && echo "$plugin: identical responses"
done
