#!/usr/bin/env bash
# IPVS-mode scale benchmark (bench/ipvs-scale.ts) inside one boot of the kvm-run guest, whose
# Debian kernel has IPVS (this host's does not). Root; not part of the tests.
#   bash scripts/bench-ipvs.sh [services=10000] [endpoints=10]
# Prints a JSON report and writes it to bench/results/ipvs-latest.json.
set -euo pipefail
cd "$(dirname "$0")/.."
kvm=${KVM_RUN:-../shared/kvm/run}
[ -x "$kvm" ] || { echo "bench-ipvs: $kvm is missing (no IPVS-capable guest)" >&2; exit 1; }
npx tsc -p tsconfig.json >/dev/null
# The e2e harness starts its helper scripts from beside its own module; tsc does not copy them.
cp test/e2e/harness/*.mjs dist/test/e2e/harness/
out=bench/results/ipvs-latest.json
mkdir -p .tmp
"$kvm" --timeout 1200 --mem 4G --cpus 2 -- node dist/bench/ipvs-scale.js "${1:-10000}" "${2:-10}" | tee .tmp/ipvs-latest.json
mv .tmp/ipvs-latest.json "$out"
