#!/usr/bin/env bash
# IPVS end-to-end tests (test/ipvs-guest/) inside ONE boot of the kvm-run guest, whose Debian
# kernel has IPVS (this host's kernel does not). Called by scripts/test.sh as root, after the host
# suites (so dist/ is built):  bash scripts/test-ipvs-guest.sh <results-dir>
# Writes the vitest JSON report to <results-dir>/ipvs-e2e.json and exits non-zero on failure.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

results=${1:-.tmp/test-results}
shift || true # further arguments: vitest filters (e.g. a test file name)
mkdir -p "$results"
results=$(cd "$results" && pwd)
kvm=${KVM_RUN:-../shared/kvm/run}

if [ ! -x "$kvm" ]; then
  echo "################################################################" >&2
  echo "# IPVS E2E TESTS NOT RUN: $kvm is missing (no IPVS-capable guest)" >&2
  echo "################################################################" >&2
  [ "${CI:-}" = true ] && exit 1
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "test-ipvs-guest: must run as root (kvm-run needs it)" >&2
  exit 1
fi
# The guest runs the compiled daemon; compile on the host (10x faster than in the guest).
if [ ! -f dist/proxy/main.js ] || [ -n "$(find proxy modes sync -name '*.ts' -newer dist/proxy/main.js -print -quit)" ]; then
  npx tsc -p tsconfig.json >/dev/null || echo "test-ipvs-guest: tsc reported errors (dist/ emitted anyway)" >&2
fi

# The guest sees only the working directory read-write: the report goes there first.
report_dir=.tmp/ipvs-guest
mkdir -p "$report_dir"
report=$report_dir/ipvs-e2e.json
rm -f "$report"

start=$(date +%s)
# Echo servers and forwarders start slowly under emulation (test/e2e/harness/spawn.ts).
export KPT_HELPER_READY_MS=${KPT_HELPER_READY_MS:-120000}
"$kvm" --timeout "${IPVS_GUEST_TIMEOUT:-1800}" --mem "${IPVS_GUEST_MEM:-3G}" --cpus "${IPVS_GUEST_CPUS:-2}" -- \
  npx vitest run --config test/ipvs-guest/vitest.config.ts \
    --reporter=default --reporter=json --outputFile="$report" "$@"
code=$?
echo "test-ipvs-guest: guest exited $code after $(( $(date +%s) - start ))s" >&2

if [ -f "$report" ]; then
  cp "$report" "$results/ipvs-e2e.json"
else
  echo "test-ipvs-guest: no report from the guest (exit $code)" >&2
  # A report the summarizer counts as one failure (a failed file without assertions), so a dead
  # guest cannot look green.
  printf '{"numPassedTests":0,"numFailedTests":0,"numPendingTests":0,"numTotalTests":0,"success":false,"testResults":[{"name":"%s","status":"failed","message":"kvm-run guest exited %s without a report"}]}\n' \
    "$repo/test/ipvs-guest" "$code" > "$results/ipvs-e2e.json"
  [ "$code" -eq 0 ] && code=1
fi
exit "$code"
