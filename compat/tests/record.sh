#!/usr/bin/env bash
# Records expected.json of every case under tests/compat (or of the cases
# named as arguments) by running buf, the reference checker:
#
#   cd current && buf breaking . --against ../previous --error-format json --exclude-imports
#
# with the case's buf.yaml placed in current/. Cases with editions files also
# get previous.binpb / current.binpb (`buf build --as-file-descriptor-set`),
# because protox cannot compile editions yet.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
buf="${PROTOREG_BUF:-$("$root/scripts/ensure-buf")}"
cases_dir="$root/tests/compat"

if [[ $# -gt 0 ]]; then
  cases=("$@")
else
  cases=()
  for dir in "$cases_dir"/*/; do cases+=("$(basename "$dir")"); done
fi

for name in "${cases[@]}"; do
  case_dir="$cases_dir/$name"
  tmp="$(mktemp -d)"
  cp -r "$case_dir/previous" "$tmp/previous"
  cp -r "$case_dir/current" "$tmp/current"
  cp "$case_dir/buf.yaml" "$tmp/current/buf.yaml"
  rc=0
  (cd "$tmp/current" && "$buf" breaking . --against ../previous --error-format json --exclude-imports) \
    >"$tmp/out.json" 2>"$tmp/err.txt" || rc=$?
  if [[ $rc -ne 0 && $rc -ne 100 ]]; then
    echo "record: buf failed on $name (exit $rc):" >&2
    cat "$tmp/err.txt" >&2
    rm -rf "$tmp"
    exit 1
  fi
  if grep -q '"type":"COMPILE"' "$tmp/out.json"; then
    echo "record: $name does not compile:" >&2
    cat "$tmp/out.json" >&2
    rm -rf "$tmp"
    exit 1
  fi
  cp "$tmp/out.json" "$case_dir/expected.json"
  rm -f "$case_dir/previous.binpb" "$case_dir/current.binpb"
  if grep -rqE '^\s*edition\s*=' "$case_dir/previous" "$case_dir/current"; then
    for side in previous current; do
      (cd "$tmp/$side" && "$buf" build . --as-file-descriptor-set -o "$case_dir/$side.binpb")
    done
  fi
  rm -rf "$tmp"
  echo "recorded $name ($(wc -l <"$case_dir/expected.json") findings)"
done
