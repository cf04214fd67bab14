#!/usr/bin/env bash
# GhostPlane sequencer benchmark: runs sequencer/examples/l2_bench.rs in release mode RUNS times
# (default 3; env L2_BENCH_RUNS), each phase in its own process so the RSS phase starts from a
# clean heap, and prints the median of every figure as a markdown table with the raw values.
# Extra arguments go to every run (e.g. `--restart-transactions 200000`; see `--help`).
# Env L2_BENCH_PHASES picks phases (default "tps latency restart rss"); the phase "settle" runs
# cli/examples/l2_settle_bench.rs instead: anvil (1 s blocks) + the GhostPlane contracts + the
# node in-process, deposit → spendable, transaction → committed on L1, and the throughput settled
# on L1 as blobs against the DA bound (~8 min a run; its options via L2_SETTLE_ARGS).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$GHOSTBRIDGE_ROOT"
runs=${L2_BENCH_RUNS:-3}
phases=${L2_BENCH_PHASES:-"tps latency restart rss"}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

cargo build -q --release -p ghostbridge-sequencer --example l2_bench
case " $phases " in *" settle "*) cargo build -q --release -p ghostbridge-cli --example l2_settle_bench ;; esac
for run in $(seq 1 "$runs"); do
  for phase in $phases; do
    echo "== run $run/$runs: $phase" >&2
    # Figures (`name: value unit`) on stdout; progress on stderr.
    if [ "$phase" = settle ]; then
      # shellcheck disable=SC2086 # L2_SETTLE_ARGS is a list of options
      figures=$(cargo run -q --release -p ghostbridge-cli --example l2_settle_bench -- ${L2_SETTLE_ARGS:-})
    else
      figures=$(cargo run -q --release -p ghostbridge-sequencer --example l2_bench -- --only "$phase" "$@")
    fi
    echo "$figures" >&2
    echo "$figures" >>"$out"
  done
done

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)
echo
echo "GhostPlane sequencer, median of $runs runs, $(nproc) cores${cpu:+ ($cpu)}, $(date -u +%Y-%m-%d)"
echo
awk '
  /^[a-z0-9_]+: [-0-9.]+ [^ ]+$/ {
    name = substr($1, 1, length($1) - 1)
    if (!(name in count)) { order[++names] = name; unit[name] = $3 }
    values[name, ++count[name]] = $2
  }
  END {
    print "| figure | median | unit | runs |"
    print "|---|---:|---|---|"
    for (k = 1; k <= names; k++) {
      name = order[k]; n = count[name]; raw = ""
      for (i = 1; i <= n; i++) {
        v[i] = values[name, i] + 0; s[i] = values[name, i]
        raw = raw (i > 1 ? ", " : "") values[name, i]
      }
      # insertion sort, then the middle value (mean of the two middle ones when n is even)
      for (i = 2; i <= n; i++) {
        x = v[i]; y = s[i]; j = i - 1
        while (j >= 1 && v[j] > x) { v[j + 1] = v[j]; s[j + 1] = s[j]; j-- }
        v[j + 1] = x; s[j + 1] = y
      }
      median = (n % 2) ? s[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
      printf "| %s | %s | %s | %s |\n", name, median, unit[name], raw
    }
  }
' "$out"
