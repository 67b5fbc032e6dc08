# syntax=docker/dockerfile:1
# kube-proxy-ts container image.
#
#   docker build -t kube-proxy-ts:0.1.0 .                           # default: runs as root
#   docker build --target nonroot -t kube-proxy-ts:0.1.0-nonroot .  # userspace mode only, see docs/deploy.md
#
# The iptables package ships both backends (iptables-nft-* and iptables-legacy-*). The image keeps
# Debian's default "iptables" alternative (nft); that choice does not matter because kube-proxy-ts
# calls iptables-nft-restore / iptables-legacy-restore (and -save) by name, after detecting at run
# time which backend the node's kubelet uses (KUBE-IPTABLES-HINT / KUBE-KUBELET-CANARY chains, else
# the backend holding more rules), like kubernetes-sigs/iptables-wrappers.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: compile TypeScript, then drop dev dependencies ------------------------------------
FROM ${NODE_IMAGE} AS build
# Toolchain for native add-ons without a prebuilt binary (node-gyp), e.g. the netlink package.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# The lock file carries every platform's optional packages, so npm 10 (bundled with Node 20) and
# npm 11 both accept it (scripts/check-npm-ci.sh).
RUN npm ci --no-audit --no-fund
COPY . .
# tsconfig.json compiles test/, bench/ and demo/ too (they import test/apiserver); only the daemon's own
# code goes into the image.
RUN npx tsc -p tsconfig.json \
 && rm -rf dist/test dist/bench dist/demo \
 && npm prune --omit=dev --no-audit --no-fund

# --- runtime-base: Node 20 plus the tools the dataplanes run ----------------------------------
FROM ${NODE_IMAGE} AS runtime-base
# iptables: iptables-{nft,legacy}-{save,restore}; ipset and ipvsadm: ipvs mode and debugging;
# conntrack: stale UDP entry cleanup; iproute2: ip(8); kmod: modprobe for ip_vs* modules.
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables ipset ipvsadm conntrack iproute2 kmod \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
# glibc's default of 8 arenas per core keeps freed native memory (payload buffers streamed into
# iptables-restore, watch responses) mapped in arenas of their own; 2 are enough for a daemon with
# one JavaScript thread (~30 MiB less RSS at 10,000 services x 10 endpoints).
ENV MALLOC_ARENA_MAX=2
# A fixed mmap threshold: glibc otherwise raises it after the first large free (up to 32 MiB), so
# every later 64 KiB pipe/socket read buffer (46 MB of iptables-save output at 10,000 services)
# lands in the brk heap, where fragmentation keeps it resident. At 10,000 services x 10 endpoints
# the brk heap went from ~48 MiB to ~8 MiB and peak RSS from ~250 to ~215 MiB (bench/README.md).
ENV MALLOC_MMAP_THRESHOLD_=65536
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist

# --- nonroot: userspace mode without root -------------------------------------------------------
# The daemon proxies in user space and needs privileges only for iptables-restore/-save and
# conntrack, so those binaries get file capabilities and the process runs as uid 65532. The pod
# must add NET_ADMIN and NET_RAW to its capability bounding set and allow privilege escalation (file
# capabilities are ignored under no_new_privs). iptables and ipvs modes need root: use the default
# target for them.
FROM runtime-base AS nonroot
RUN apt-get update \
 && apt-get install -y --no-install-recommends libcap2-bin \
 && setcap cap_net_admin,cap_net_raw+ep "$(readlink -f /usr/sbin/xtables-nft-multi)" \
 && setcap cap_net_admin,cap_net_raw+ep "$(readlink -f /usr/sbin/xtables-legacy-multi)" \
 && setcap cap_net_admin+ep "$(readlink -f /usr/sbin/conntrack)" \
 && apt-get purge -y libcap2-bin && apt-get autoremove -y \
 && rm -rf /var/lib/apt/lists/*
USER 65532:65532
# --optimize-for-size: see the runtime target below.
ENTRYPOINT ["node", "--optimize-for-size", "/app/dist/proxy/main.js"]

# --- runtime (default): root, for iptables, ipvs and userspace modes ---------------------------
# iptables, ipset, IPVS netlink and the /proc/sys/net sysctls need root (and, in Kubernetes, a
# privileged container: see manifests/base/daemonset.yaml).
FROM runtime-base AS runtime
# --optimize-for-size: the daemon's live heap is flat under endpoint churn (~45-55 MiB at 1,000
# services x 10 endpoints, measured after forced GCs over 10,000 changes), but V8's default heap
# growing factor (up to 4x live on a large host) lets dead EndpointSlices and rendered rules pile
# up in old space between major GCs, so RSS drifted 170 -> 210 MiB (bench: 140 -> 267). With this
# flag V8 uses its conservative growing factor: RSS 129 -> 146 MiB over the same run. Unlike
# --max-old-space-size it does not cap the heap, so it is safe at any cluster size. (Not allowed in
# NODE_OPTIONS, hence here.)
ENTRYPOINT ["node", "--optimize-for-size", "/app/dist/proxy/main.js"]
