#!/usr/bin/env bash
# The whole test suite: set-up, typecheck, unit, integration, end-to-end (network namespaces, root),
# and the IPVS end-to-end tests inside a KVM guest whose kernel has IPVS.
# With CI=true, anything that would be skipped for lack of privileges is a failure instead.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh || { echo "test: set-up failed" >&2; exit 1; }

results=.tmp/test-results
rm -rf "$results" && mkdir -p "$results"
failed_steps=()

is_root() { [ "$(id -u)" -eq 0 ]; }

step() { # name, command...
  local name=$1; shift
  echo "=== $name" >&2
  if ! "$@"; then failed_steps+=("$name"); fi
}

vitest_project() { # project name
  npx vitest run --project "$1" --reporter=default --reporter=json --outputFile="$results/$1.json"
}

step typecheck npx tsc -p tsconfig.json --noEmit
step npm-ci bash scripts/check-npm-ci.sh 10 11
step unit vitest_project unit
step integration vitest_project integration

if is_root; then
  step e2e vitest_project e2e
  if [ -d test/ipvs-guest ] && [ -x ../shared/kvm/run ]; then
    step ipvs-e2e bash scripts/test-ipvs-guest.sh "$results"
  elif [ "${CI:-}" = true ]; then
    echo "test: IPVS guest tests cannot run (../shared/kvm/run missing)" >&2
    failed_steps+=(ipvs-e2e)
  fi
else
  echo "################################################################" >&2
  echo "# E2E TESTS NOT RUN: they need root (network namespaces, iptables)" >&2
  echo "################################################################" >&2
  if [ "${CI:-}" = true ]; then failed_steps+=(e2e-not-root); fi
fi

node scripts/summarize-results.mjs "$results" "${failed_steps[@]}"
