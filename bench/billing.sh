#!/usr/bin/env bash
# Benchmark (issue 5, item 7; issue 19 point 4): one billing pass over stored machines (of every 100,000: 20,000 running,
# 20,000 with a charge due) against a bare baseline that reads the due rows once and inserts the same ledger rows in one
# batched transaction, side by side, alternating, each run on a fresh copy of the database. Prints a Markdown table, the
# medians and their ratio (target ≤ 2×). Builds in Release first.
#   SQLite (the default): 100,000 machines, each run on a copy of the prepared file.
#   --postgres: a throwaway PostgreSQL started here (scripts/lib.sh start_postgres, port VIRTUOSO_BENCH_PG_PORT, default 55472)
#     and stopped at the end; 100,000 and 1,000,000 machines unless --machines says otherwise, each size prepared once in a
#     template database (COPY) and each run on a clone of it; a third contender, the bulk baseline (every row in one INSERT);
#     and how each grows with the size (fitted power law).
# Usage: bench/billing.sh [--postgres] [ROUNDS=5] [extra options of Virtuoso.Bench.Billing, e.g. --machines 10000]
#        bench/billing-postgres.sh [ROUNDS] [options]   (the same as --postgres)
#        BENCH_SMOKE=1 bench/billing.sh [--postgres]    (smoke test: Virtuoso.Bench.Billing --smoke, 2,000 machines, two rounds,
#                                                       every run checked; on PostgreSQL 2,000 and 4,000 machines, so that the
#                                                       fit runs too; exits non-zero on any failure)
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
POSTGRES=0
if [ "${1:-}" = --postgres ]; then POSTGRES=1; shift; fi
if [ "${BENCH_SMOKE:-0}" = 1 ]; then
  RUN=(--smoke); [ -n "${1:-}" ] && RUN+=(--rounds "$1")
  [ "$POSTGRES" = 1 ] && RUN+=(--machines 2000,4000)
else
  RUN=(--rounds "${1:-5}")
  [ "$POSTGRES" = 1 ] && [[ " $* " != *" --machines "* ]] && RUN+=(--machines 100000,1000000)
fi
shift || true

require_dotnet
say "building the billing benchmark (Release)"
dotnet build bench/Virtuoso.Bench.Billing/Virtuoso.Bench.Billing.csproj -c Release -o build/bench-billing -v quiet -nologo >/dev/null \
  || dotnet build bench/Virtuoso.Bench.Billing/Virtuoso.Bench.Billing.csproj -c Release -o build/bench-billing -v quiet -nologo

W=$(mktemp -d /tmp/vbench-billing.XXXXXX)
cleanup() {
  [ "$POSTGRES" = 1 ] && stop_postgres "$W/pg"
  rm -rf "$W"
}
trap cleanup EXIT
if [ "$POSTGRES" = 1 ]; then
  chmod 755 "$W" # PostgreSQL runs as its own user below it
  RUN+=(--postgres "$(start_postgres "$W/pg" "${VIRTUOSO_BENCH_PG_PORT:-55472}")")
fi
say "running the billing benchmark (${RUN[*]}) in $W"
dotnet build/bench-billing/Virtuoso.Bench.Billing.dll --work "$W" "${RUN[@]}" "$@"
