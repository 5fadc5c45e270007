#!/usr/bin/env bash
# make fuzz: run each fuzz target for FUZZ_SECONDS (default 60), then minimize its corpus,
# which is kept in fuzz/corpus/<target> (small, committed). Crashes land in
# fuzz/artifacts/<target>/; each one found becomes a conformance vector or a unit test.
# Usage: fuzz/run.sh [seconds] [target ...]
# FUZZ_RUNS=N: stop each target after N executions instead of a time (issue 27's 10 M runs).
# FUZZ_SANITIZER=none: no AddressSanitizer, 5-8x more executions a second (redaction: ~2,600/s
# on one core against ~340-450). What these targets assert (no configured value in any output,
# determinism, round trips) is checked by their own code, and telhook-core forbids `unsafe`;
# the sanitizer only adds checks on the dependencies' unsafe code, so the default keeps it.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$PWD/../target/tools/bin:$PATH"
seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
mkdir -p logs
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  extra=()
  case "$target" in normalize_*|detect_provider) extra=(seeds/bodies) ;; esac
  limit=(-max_total_time="$seconds")
  if [ -n "${FUZZ_RUNS:-}" ]; then limit=(-runs="$FUZZ_RUNS"); fi
  cargo +nightly fuzz run -O -s "${FUZZ_SANITIZER:-address}" "$target" "corpus/$target" "${extra[@]}" -- \
    "${limit[@]}" -max_len=8192 -timeout=5 -rss_limit_mb=1024 -print_final_stats=1 \
    > "logs/$target.log" 2>&1 || { echo "$target: FAILED, see fuzz/logs/$target.log"; exit 1; }
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$target.log" | grep -o '[0-9]*$' || echo "?")
  cargo +nightly fuzz cmin -O -s "${FUZZ_SANITIZER:-address}" "$target" "corpus/$target" -- -max_len=8192 > "logs/$target.cmin.log" 2>&1
  echo "$target: ${FUZZ_RUNS:-${seconds}s}, $execs execs, 0 crashes, corpus $(ls "corpus/$target" | wc -l) files"
done
