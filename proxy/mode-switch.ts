// A mode switch in place: restarted with another --mode, the daemon programs its own dataplane
// first and only then removes what the other modes left in the kernel, so a live Service always
// has rules of one mode or the other and conntrack entries keep working (NAT is decided once per
// connection, on its first packet: an established connection keeps the translation it got, whichever
// mode's rules gave it). What is left is found by each mode's cleanup looking at the kernel (a
// fresh process remembers nothing of the old mode).
//
// userspace mode is the exception to "rules outlive the process": its portal rules REDIRECT to this
// process's listeners, so they stop working the moment it exits. Before a userspace daemon exits
// it therefore hands its Services over to iptables mode's rules (handOffToKernelRules), which
// need no process; whichever mode starts next adopts (iptables) or removes them.

import type { CleanupReport, Dataplane } from '../modes/dataplane.js';
import { createDataplane, type DataplaneDeps } from '../modes/registry.js';
import type { ProxyMode } from './config/types.js';
import { EMPTY_CHANGES, type ProxyState } from './model/types.js';

/** The modes whose leftovers a daemon running `active` removes after its first sync. */
export function otherModes(active: ProxyMode): ProxyMode[] {
  const all: ProxyMode[] = ['iptables', 'ipvs', 'userspace', 'nftables'];
  return active === 'noop' ? [] : all.filter((m) => m !== active);
}

/** A cleanup's counts for the log line; undefined when it removed nothing (nothing to log). */
export function removedCounts(report: CleanupReport | void): Record<string, number> | undefined {
  if (!report) return undefined;
  const nonZero = Object.entries(report.removed).filter(([, n]) => n > 0);
  return nonZero.length ? Object.fromEntries(nonZero) : undefined;
}

/** An error that only says this kernel cannot run `mode` at all (so it has left nothing). */
export function modeUnavailable(mode: ProxyMode, err: unknown): boolean {
  return (mode === 'ipvs' || mode === 'nftables') && /not available|EPROTONOSUPPORT|family.*not found|ENOENT/i.test(String(err));
}

/**
 * Removes every other mode's leftovers, keeping what `active` programs itself (the cleanup's
 * `active` option). One log line per mode that had something left, with what went. Runs beside
 * the sync loop (the daemon does not await it): each cleanup touches only its own mode's objects.
 */
export async function removeOtherModesLeftovers(active: ProxyMode, deps: DataplaneDeps): Promise<void> {
  const start = performance.now();
  const modes = otherModes(active);
  for (const mode of modes) {
    try {
      const dp = await createDataplane(mode, { ...deps, config: { ...deps.config, mode } });
      try {
        const counts = removedCounts(await dp.cleanup({ active }));
        if (counts) deps.logger.info('removed the leftovers of another proxy mode', { mode, active, ...counts });
      } finally {
        await dp.close?.();
      }
    } catch (err) {
      if (!modeUnavailable(mode, err)) deps.logger.warn('removing the leftovers of another mode failed; will not retry', { mode, err });
    }
  }
  // What it cost (it runs beside the first syncs; the memory bench waits for this line).
  deps.logger.v(2, 'looked for other modes leftovers', { active, modes: modes.join(','), durationMs: Math.round(performance.now() - start) });
}

/**
 * userspace mode, on its way out: programs iptables mode's rules for `state` (the last state it
 * synced) and only then removes its own portals, while its listeners still serve. New connections
 * are DNATed by the kernel from then on, so none fails in the window before the next daemon's
 * first sync. Connections that run through this process's proxy end with it; they cannot be
 * moved.
 */
export async function handOffToKernelRules(
  state: ProxyState,
  running: Dataplane,
  deps: DataplaneDeps,
  kernelDataplane: (deps: DataplaneDeps) => Promise<Dataplane> = (d) => createDataplane('iptables', d),
): Promise<void> {
  const ipt = await kernelDataplane({ ...deps, config: { ...deps.config, mode: 'iptables' } });
  try {
    // If this throws, the portals stay: rules that work while the listeners do beat no rules.
    await ipt.sync({ state, changes: EMPTY_CHANGES, full: true });
  } finally {
    await ipt.close?.();
  }
  const counts = removedCounts(await running.cleanup({ active: 'iptables' }));
  deps.logger.info('handed the services over to iptables rules until the next proxy starts', { services: state.services.size, ...(counts ?? {}) });
}
