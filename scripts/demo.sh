#!/usr/bin/env bash
# The demo: a stand-in apiserver with a handful of sample Services (one endpoint flips every few
# seconds), and the real daemon watching it in the noop (dry-run) dataplane, which logs what it
# would program. Ctrl-C stops both.
#   KPT_DEMO_SECONDS=N  stop by itself after N seconds (used by the test suite)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

work=$(mktemp -d /tmp/kpt-demo.XXXXXX)
metrics=${KPT_DEMO_METRICS:-127.0.0.1:10249}
healthz=${KPT_DEMO_HEALTHZ:-127.0.0.1:10256}
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

node dist/test/apiserver/main.js --port 0 --churn --kubeconfig-out "$work/kubeconfig" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/kubeconfig" ] && break; sleep 0.1; done
[ -s "$work/kubeconfig" ] || { echo "demo: the test apiserver did not start" >&2; exit 1; }

node dist/proxy/main.js --kubeconfig "$work/kubeconfig" --mode noop --hostname-override node-a \
  --metrics-bind-address "$metrics" --healthz-bind-address "$healthz" --iptables-min-sync-period 1s -v=2 &
pids+=($!)

cat >&2 <<MSG

kube-proxy-ts demo running (noop dataplane: it logs what it would program).
  metrics:     curl http://$metrics/metrics
  state:       curl http://$metrics/debug/state
  config:      curl http://$metrics/configz
  health:      curl http://$healthz/healthz
Press Ctrl-C to stop.

MSG
if [ -n "${KPT_DEMO_SECONDS:-}" ]; then
  sleep "$KPT_DEMO_SECONDS"
else
  wait -n "${pids[@]}"
fi
