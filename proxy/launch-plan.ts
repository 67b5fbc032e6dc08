// Pure: whether the daemon process must be re-executed to get the memory settings the container
// image uses, and with what (launcher.ts does it; see there for why).

/** Set in the child's environment: never re-execute twice. Set it yourself to opt out. */
export const LAUNCHED_ENV = 'KUBE_PROXY_TS_LAUNCHED';
export const V8_FLAGS: readonly string[] = ['--optimize-for-size'];
export const MALLOC_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '65536' };

/** Commands that do not run the daemon: they stay one fast process. */
function isQuickCommand(argv: readonly string[]): boolean {
  if (argv[0] === 'explain' || argv[0] === 'trace') return true;
  return argv.some((a) => /^--?(help|h|version)(=.*)?$/.test(a));
}

export interface RelaunchPlan {
  readonly execArgv: string[];
  readonly env: NodeJS.ProcessEnv;
}

/** Pure: what the child needs, or undefined when this process should just run. */
export function relaunchPlan(
  argv: readonly string[],
  execArgv: readonly string[],
  env: NodeJS.ProcessEnv,
  supervisorPid: number = process.pid,
): RelaunchPlan | undefined {
  if (env[LAUNCHED_ENV] !== undefined || isQuickCommand(argv)) return undefined;
  const missingFlags = V8_FLAGS.filter((f) => !execArgv.includes(f));
  const missingEnv = Object.keys(MALLOC_ENV).filter((k) => env[k] === undefined);
  if (missingFlags.length === 0 && missingEnv.length === 0) return undefined;
  // The user's own values win over ours; only what is missing is added.
  // The marker holds the supervisor's pid, so the child can tell when that parent is gone.
  return { execArgv: [...execArgv, ...missingFlags], env: { ...MALLOC_ENV, ...env, [LAUNCHED_ENV]: String(supervisorPid) } };
}
