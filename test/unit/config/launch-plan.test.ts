import { describe, expect, it } from 'vitest';
import { LAUNCHED_ENV, MALLOC_ENV, relaunchPlan } from '../../../proxy/launch-plan.js';

describe('relaunchPlan', () => {
  it('adds --optimize-for-size and the glibc settings for a plain daemon start', () => {
    const plan = relaunchPlan(['--mode=iptables'], [], { PATH: '/bin' }, 4242);
    expect(plan?.execArgv).toEqual(['--optimize-for-size']);
    expect(plan?.env).toEqual({ PATH: '/bin', ...MALLOC_ENV, [LAUNCHED_ENV]: '4242' });
  });

  it('never relaunches twice, nor when everything is already there', () => {
    expect(relaunchPlan([], [], { [LAUNCHED_ENV]: '1' })).toBeUndefined();
    expect(relaunchPlan([], ['--optimize-for-size'], { ...MALLOC_ENV })).toBeUndefined();
  });

  it("keeps the user's own flags and values and adds only what is missing", () => {
    const plan = relaunchPlan([], ['--max-old-space-size=512'], { MALLOC_ARENA_MAX: '4' });
    expect(plan?.execArgv).toEqual(['--max-old-space-size=512', '--optimize-for-size']);
    expect(plan?.env['MALLOC_ARENA_MAX']).toBe('4');
    expect(plan?.env['MALLOC_MMAP_THRESHOLD_']).toBe('65536');
  });

  it('leaves the quick commands in one process', () => {
    for (const argv of [['explain', 'ns/web'], ['trace', '--dst=198.19.0.1:80'], ['--help'], ['--version'], ['-h'], ['--version=raw']]) {
      expect(relaunchPlan(argv, [], {})).toBeUndefined();
    }
    expect(relaunchPlan(['--cleanup'], [], {})).toBeDefined();
  });
});
