#!/usr/bin/env bash
# The billing benchmark on PostgreSQL (issue 19 point 4): bench/billing.sh --postgres, under its own name so that ./test runs
# its smoke mode beside SQLite's. Usage: bench/billing-postgres.sh [ROUNDS=5] [options]; BENCH_SMOKE=1 for the smoke test.
exec "$(dirname "$0")/billing.sh" --postgres "$@"
