#!/usr/bin/env bash
# The demo. As root: a two-node cluster built from network namespaces (pods running echo servers,
# a client pod, an external client), the stand-in apiserver serving sample Services, the real
# daemon in each node namespace, and a live view of which pod answered the clients' requests while
# an endpoint scales up and down (demo/main.ts). Nothing is added to the root namespace; Ctrl-C
# removes every namespace and process it made.
#   bash scripts/demo.sh [--mode iptables|userspace|nftables] [--json] [--help]
#   KPT_DEMO_SECONDS=N     stop by itself after N seconds (used by the test suite)
#   KPT_DEMO_SKIP_SETUP=1  skip scripts/setup.sh (dist/ is already built)
# Without root it runs the old dry run instead: the daemon in the noop dataplane, logging what it
# would program.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${KPT_DEMO_SKIP_SETUP:-0}" = 1 ] || bash scripts/setup.sh

if [ "$(id -u)" -eq 0 ]; then
  exec node dist/demo/main.js "$@"
fi

cat >&2 <<MSG
demo: not root, so no network namespaces: running the dry-run demo instead (the daemon in the noop
dataplane, logging what it would program). Run it as root to see real packets: sudo bash scripts/demo.sh
MSG

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
