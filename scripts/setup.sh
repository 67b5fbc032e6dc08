#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian/Ubuntu machine (as root): the Debian tools the
# dataplanes and tests drive, then the npm dependencies, then the TypeScript build.
# Idempotent: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
have() { command -v "$1" >/dev/null 2>&1; }
have iptables-restore || need_pkgs+=(iptables)
have conntrack || need_pkgs+=(conntrack)
have ip || need_pkgs+=(iproute2)
have ipset || need_pkgs+=(ipset)
have ipvsadm || need_pkgs+=(ipvsadm)
have curl || need_pkgs+=(curl)
have openssl || need_pkgs+=(openssl)
have sysctl || need_pkgs+=(procps)
if [ "${KPT_WITH_BENCH_TOOLS:-0}" = 1 ]; then have haproxy || need_pkgs+=(haproxy); fi

if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages ${need_pkgs[*]} and not root; install them or run as root" >&2
    exit 1
  fi
  echo "setup: installing ${need_pkgs[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

# Install only when package.json or the lock file changed since the last install (keeps repeated
# runs fast). `npm ci`: exactly the committed lock file, never rewritten; it fails loudly when the
# lock file and package.json disagree (scripts/check-npm-ci.sh proves npm 10 and 11 accept it).
stamp=node_modules/.kpt-install-stamp
want=$(cat package.json package-lock.json | sha256sum)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
npx tsc -p tsconfig.json
