#!/usr/bin/env bash
# Proves `npm ci` works on a clean clone of the committed tree with each npm major a Node 20
# machine carries: 10 (bundled with Node 20, the Dockerfile's) and 11 (what `npm i -g npm` gives).
# npm 11 rejects a lock file that lacks other platforms' optional packages, npm 10 does not, so
# one version passing says nothing about the other. Install scripts are skipped (--ignore-scripts):
# what is checked is that the lock file is accepted and every locked package installs; the native
# add-on build is covered by scripts/setup.sh. The npm cache keeps repeated runs fast.
#   bash scripts/check-npm-ci.sh [npm versions...]     default: 10 11
#   KPT_NPM_CI_REF=<commit>   check that commit instead of HEAD
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(10 11)

work=$(mktemp -d /tmp/kpt-npm-ci.XXXXXX)
trap 'rm -rf "$work"' EXIT
# A clone holds exactly what is committed (HEAD), never this checkout's node_modules or edits.
git clone --quiet --no-hardlinks "$repo" "$work/clone"
cd "$work/clone"
git checkout --quiet --detach "${KPT_NPM_CI_REF:-HEAD}"

failed=()
for v in "${versions[@]}"; do
  rm -rf node_modules
  actual=$(npx -y "npm@$v" --version)
  echo "check-npm-ci: npm $actual ci on a clean clone of $(git rev-parse --short HEAD)" >&2
  if npx -y "npm@$v" ci --ignore-scripts --no-audit --no-fund --loglevel=error --prefer-offline >"$work/npm-$v.log" 2>&1; then
    # npm ci must not have needed to touch the lock file (it never writes it; belt and braces).
    git diff --quiet -- package-lock.json || { echo "check-npm-ci: npm $actual changed package-lock.json" >&2; failed+=("$v"); }
  else
    echo "check-npm-ci: npm $actual ci FAILED:" >&2
    head -20 "$work/npm-$v.log" >&2
    failed+=("$v")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "check-npm-ci: npm ci failed with npm ${failed[*]}" >&2
  exit 1
fi
echo "check-npm-ci: npm ci passed with npm ${versions[*]}" >&2
