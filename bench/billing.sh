#!/usr/bin/env bash
# Benchmark (issue 5, item 7): one billing pass over 100,000 stored machines on SQLite (20,000 running, 20,000 with
# a charge due) against a bare baseline that reads the due rows once and inserts the same ledger rows in one
# batched transaction, side by side, alternating, each run on a fresh copy of the database. Prints a Markdown
# table, the medians and their ratio (target ≤ 2×). Builds in Release first.
# Usage: bench/billing.sh [ROUNDS=5] [extra options of Virtuoso.Bench.Billing, e.g. --machines 10000]
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
ROUNDS=${1:-5}
shift || true

require_dotnet
say "building the billing benchmark (Release)"
dotnet build bench/Virtuoso.Bench.Billing/Virtuoso.Bench.Billing.csproj -c Release -o build/bench-billing -v quiet -nologo >/dev/null \
  || dotnet build bench/Virtuoso.Bench.Billing/Virtuoso.Bench.Billing.csproj -c Release -o build/bench-billing -v quiet -nologo

W=$(mktemp -d /tmp/vbench-billing.XXXXXX)
trap 'rm -rf "$W"' EXIT
say "running $ROUNDS rounds in $W"
dotnet build/bench-billing/Virtuoso.Bench.Billing.dll --work "$W" --rounds "$ROUNDS" "$@"
