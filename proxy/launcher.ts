// Gives the daemon, however it is started (`node dist/proxy/main.js`, the package's
// `kube-proxy-ts` bin), the memory settings the container image uses (Dockerfile, bench/README.md):
// V8's --optimize-for-size (conservative heap growth: RSS stays flat under endpoint churn) and
// glibc's MALLOC_ARENA_MAX=2 / MALLOC_MMAP_THRESHOLD_=65536 (freed native buffers go back to the
// OS). V8 flags and glibc's malloc settings are fixed when the process starts, so the only way to
// get them is to start again: this module, imported first by main.ts, re-executes the same
// command once with what is missing, forwards signals to that child, and exits with its status.
//
// Why it throws: ES modules evaluate their imports in order, and a module with top-level await
// would not stop its siblings (the whole daemon) from evaluating in the parent. A synchronous
// throw aborts the evaluation of the importer's graph right here; the parent swallows exactly
// that one error and lives on only to supervise the child. Loading (parsing) a graph happens
// before any of it runs, though, which is why main.ts imports only this module statically and the
// daemon (cli-main.js) dynamically after it: the parent never loads the daemon (~45 MB RSS
// instead of ~110 MB).

import { spawn } from 'node:child_process';
import { LAUNCHED_ENV, relaunchPlan, type RelaunchPlan } from './launch-plan.js';

/** Signals a supervisor or a terminal sends; each is passed on to the daemon. */
const FORWARDED: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR2'];

const RELAUNCHED = new Error('kube-proxy-ts: relaunched with the memory settings; this process only supervises');

function relaunch(plan: RelaunchPlan): never {
  const script = process.argv[1] ?? '';
  const child = spawn(process.execPath, [...plan.execArgv, script, ...process.argv.slice(2)], { stdio: 'inherit', env: plan.env });
  const handlers = FORWARDED.map((sig) => {
    const h = (): void => void child.kill(sig);
    process.on(sig, h);
    return [sig, h] as const;
  });
  child.on('error', (err) => {
    process.stderr.write(`kube-proxy-ts: cannot start ${process.execPath}: ${err.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal !== null) {
      // Die of the same signal, so whoever started us sees what happened to the daemon.
      for (const [sig, h] of handlers) process.off(sig, h);
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code ?? 1);
  });
  process.on('uncaughtException', (err) => {
    if (err === RELAUNCHED) return;
    process.stderr.write(`kube-proxy-ts: fatal: ${err.stack ?? err.message}\n`);
    child.kill('SIGTERM');
    process.exit(1);
  });
  throw RELAUNCHED;
}

/**
 * In the child: a supervisor killed with SIGKILL cannot pass anything on, so the daemon would run
 * on unsupervised (still programming rules). Linux has no portable parent-death signal for us, so
 * poll: once re-parented, stop as if told to (SIGTERM: the normal graceful shutdown).
 */
function followSupervisor(): void {
  const supervisor = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === supervisor) return;
    clearInterval(timer);
    process.kill(process.pid, 'SIGTERM');
  }, 1000);
  timer.unref();
}

const plan = relaunchPlan(process.argv.slice(2), process.execArgv, process.env);
if (plan !== undefined) relaunch(plan);
else if (process.env[LAUNCHED_ENV] === String(process.ppid)) followSupervisor();
