#!/usr/bin/env bash
# Benchmark (issue 5, item 7): one billing pass over 100,000 stored machines on SQLite (20,000 running, 20,000 with
# a charge due) against a bare baseline that reads the due rows once and inserts the same ledger rows in one
# batched transaction, side by side, alternating, each run on a fresh copy of the database. Prints a Markdown
# table, the medians and their ratio (target ≤ 2×). Builds in Release first.
# Usage: bench/billing.sh [ROUNDS=5] [extra options of Virtuoso.Bench.Billing, e.g. --machines 10000]
#        BENCH_SMOKE=1 bench/billing.sh    (smoke test: Virtuoso.Bench.Billing --smoke, 2,000 machines, two rounds, every
#                                          run checked; exits non-zero on any failure)
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
if [ "${BENCH_SMOKE:-0}" = 1 ]; then
  RUN=(--smoke); [ -n "${1:-}" ] && RUN+=(--rounds "$1")
else
  RUN=(--rounds "${1:-5}")
fi
shift || true

require_dotnet
say "building the billing benchmark (Release)"
dotnet build bench/Virtuoso.Bench.Billing/Virtuoso.Bench.Billing.csproj -c Release -o build/bench-billing -v quiet -nologo >/dev/null \
  || dotnet build bench/Virtuoso.Bench.Billing/Virtuoso.Bench.Billing.csproj -c Release -o build/bench-billing -v quiet -nologo

W=$(mktemp -d /tmp/vbench-billing.XXXXXX)
trap 'rm -rf "$W"' EXIT
say "running the billing benchmark (${RUN[*]}) in $W"
dotnet build/bench-billing/Virtuoso.Bench.Billing.dll --work "$W" "${RUN[@]}" "$@"
