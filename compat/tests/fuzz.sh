#!/usr/bin/env bash
# Differential fuzzing of protoreg-compat against buf, on demand:
#
#   compat/tests/fuzz.sh [PAIRS] [SEED]
#
# runs PAIRS random schema pairs (default 5000) from SEED (default: random)
# through our engine and `buf breaking`, and fails on the first run with a
# difference, printing the seed of each differing pair and keeping its
# directory (previous/, current/ with buf.yaml). CI runs the same test with
# 200 pairs from a fixed seed. Re-run one pair with
# PROTOREG_FUZZ_PAIRS=1 PROTOREG_FUZZ_SEED=<pair seed>.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
pairs="${1:-${PROTOREG_FUZZ_PAIRS:-5000}}"
seed="${2:-${PROTOREG_FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}}"
export PROTOREG_BUF="${PROTOREG_BUF:-$("$root/scripts/ensure-buf")}"

echo "fuzz: PROTOREG_FUZZ_PAIRS=$pairs PROTOREG_FUZZ_SEED=$seed"
cd "$root"
PROTOREG_FUZZ_PAIRS="$pairs" PROTOREG_FUZZ_SEED="$seed" \
  nice -n 10 cargo test -p protoreg-compat --test it fuzz -- --nocapture
