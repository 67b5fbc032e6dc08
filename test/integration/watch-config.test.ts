// loadKubeConfig's sources and the informer restart backoff.

import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RestartBackoff } from '../../proxy/watch/backoff.js';
import { DEFAULT_WATCH_BACKOFF, KubeConfigError, loadKubeConfig } from '../../proxy/watch/index.js';

const dir = mkdtempSync(join(tmpdir(), 'watch-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://198.18.0.250:6443
    insecure-skip-tls-verify: true
users:
- name: u
  user:
    token: secret
contexts:
- name: ctx
  context: {cluster: c, user: u}
current-context: ctx
`;

describe('loadKubeConfig', () => {
  const file = join(dir, 'kubeconfig');
  writeFileSync(file, KUBECONFIG);

  it('loads the file', () => {
    const kc = loadKubeConfig({ kubeconfig: file, master: '' });
    expect(kc.getCurrentCluster()?.server).toBe('https://198.18.0.250:6443');
    expect(kc.getCurrentUser()?.token).toBe('secret');
  });

  it('lets --master override the file server but keeps its credentials', () => {
    const kc = loadKubeConfig({ kubeconfig: file, master: 'https://198.18.0.251:443/' });
    expect(kc.getCurrentCluster()?.server).toBe('https://198.18.0.251:443');
    expect(kc.getCurrentUser()?.token).toBe('secret');
  });

  it('accepts --master alone, allowing plain http', () => {
    const kc = loadKubeConfig({ kubeconfig: '', master: 'http://127.0.0.1:8080' });
    expect(kc.getCurrentCluster()).toMatchObject({ server: 'http://127.0.0.1:8080', skipTLSVerify: true });
  });

  it('falls back to the in-cluster service account', () => {
    const root = join(dir, 'incluster');
    mkdirSync(join(root, 'var/run/secrets/kubernetes.io/serviceaccount'), { recursive: true });
    writeFileSync(join(root, 'var/run/secrets/kubernetes.io/serviceaccount/token'), 'sa-token');
    writeFileSync(join(root, 'var/run/secrets/kubernetes.io/serviceaccount/ca.crt'), 'not checked for content');
    const kc = loadKubeConfig(
      { kubeconfig: '', master: '' },
      { env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountRoot: root },
    );
    expect(kc.getCurrentCluster()?.server).toBe('https://10.96.0.1:443');
    expect(kc.getCurrentCluster()?.caFile).toBe(join(root, 'var/run/secrets/kubernetes.io/serviceaccount/ca.crt'));
  });

  it('explains what is missing when there is no source at all', () => {
    expect(() => loadKubeConfig({ kubeconfig: '', master: '' }, { env: {} })).toThrow(/KUBERNETES_SERVICE_HOST/);
  });
});

describe('loadKubeConfig reads every file the credentials name at start, and names the one at fault', () => {
  const write = (name: string, text: string): string => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };
  const failure = (f: () => unknown): KubeConfigError => {
    try {
      f();
    } catch (err) {
      if (err instanceof KubeConfigError) return err;
      throw err;
    }
    throw new Error('did not throw');
  };
  const withCluster = (cluster: string) => KUBECONFIG.replace('    insecure-skip-tls-verify: true\n', cluster);
  const withUser = (user: string) => KUBECONFIG.replace('    token: secret\n', user);

  it('a missing certificate-authority file', () => {
    const file = write('kc-ca', withCluster('    certificate-authority: no-such-ca.crt\n'));
    const err = failure(() => loadKubeConfig({ kubeconfig: file, master: '' }));
    // Relative paths are relative to the kubeconfig, as in client-go.
    expect(err.file).toBe(join(dir, 'no-such-ca.crt'));
    expect(err.message).toContain(`certificate-authority file ${join(dir, 'no-such-ca.crt')} of cluster "c" (kubeconfig ${file})`);
    expect(err.message).toMatch(/ENOENT: no such file or directory$/);
    // Also with --master overriding the server.
    expect(failure(() => loadKubeConfig({ kubeconfig: file, master: 'https://198.18.0.1' })).file).toBe(join(dir, 'no-such-ca.crt'));
  });

  it('a missing client certificate', () => {
    const file = write('kc-cert', withUser('    client-certificate: /nonexistent/client.crt\n    client-key: /nonexistent/client.key\n'));
    expect(failure(() => loadKubeConfig({ kubeconfig: file, master: '' })).file).toBe('/nonexistent/client.crt');
  });

  for (const key of ['tokenFile', 'token-file']) {
    it(`a missing or unreadable ${key}, and a good one is used relative to the kubeconfig`, async () => {
      const missing = write(`kc-${key}-missing`, withUser(`    ${key}: /nonexistent/token\n`));
      const e1 = failure(() => loadKubeConfig({ kubeconfig: missing, master: '' }));
      expect(e1.file).toBe('/nonexistent/token');
      expect(e1.message).toContain(`token file /nonexistent/token of user "u" (kubeconfig ${missing})`);
      // A directory cannot be read as a file (root can read any file, so no chmod here).
      const unreadable = write(`kc-${key}-dir`, withUser(`    ${key}: ${dir}\n`));
      expect(failure(() => loadKubeConfig({ kubeconfig: unreadable, master: '' })).message).toMatch(/EISDIR/);
      const empty = write(`kc-${key}-empty`, withUser(`    ${key}: empty-token\n`));
      write('empty-token', '\n');
      expect(failure(() => loadKubeConfig({ kubeconfig: empty, master: '' })).message).toMatch(/is empty$/);

      write('good-token', 'from-file\n');
      const good = write(`kc-${key}-good`, withUser(`    ${key}: good-token\n`));
      const kc = loadKubeConfig({ kubeconfig: good, master: '' });
      expect(kc.getCurrentUser()?.authProvider?.config?.path).toBe(join(dir, 'good-token'));
      // Trimmed, as client-go reads token files (a trailing newline is not part of the token).
      const opts: { headers?: Record<string, unknown> } = {};
      await kc.applyToHTTPSOptions(opts);
      expect(opts.headers?.['Authorization']).toBe('Bearer from-file');
    });
  }

  it('a missing, unparseable or not-a-kubeconfig file', () => {
    const missing = join(dir, 'no-such-kubeconfig');
    const e1 = failure(() => loadKubeConfig({ kubeconfig: missing, master: '' }));
    expect(e1.file).toBe(missing);
    expect(e1.message).toContain(`cannot read kubeconfig ${missing}`);
    const garbage = write('kc-garbage', 'clusters: [unclosed\n  - x: : y\n');
    expect(failure(() => loadKubeConfig({ kubeconfig: garbage, master: '' })).message).toMatch(
      new RegExp(`^kubeconfig ${garbage} is not valid YAML: `),
    );
    const text = write('kc-text', 'hello\n');
    expect(failure(() => loadKubeConfig({ kubeconfig: text, master: '' })).message).toBe(
      `kubeconfig ${text} is not a kubeconfig (no clusters list)`,
    );
    const noContext = write('kc-nocontext', KUBECONFIG.replace('current-context: ctx\n', ''));
    expect(failure(() => loadKubeConfig({ kubeconfig: noContext, master: '' })).message).toBe(
      `kubeconfig ${noContext} has no current cluster`,
    );
  });

  it('in-cluster: a missing service account token', () => {
    const root = join(dir, 'incluster-notoken');
    mkdirSync(join(root, 'var/run/secrets/kubernetes.io/serviceaccount'), { recursive: true });
    writeFileSync(join(root, 'var/run/secrets/kubernetes.io/serviceaccount/ca.crt'), 'ca');
    const err = failure(() =>
      loadKubeConfig(
        { kubeconfig: '', master: '' },
        { env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountRoot: root },
      ),
    );
    expect(err.file).toBe(join(root, 'var/run/secrets/kubernetes.io/serviceaccount/token'));
  });
});

describe('RestartBackoff', () => {
  it('doubles up to the cap with bounded jitter and resets', () => {
    let t = 0;
    const noJitter = new RestartBackoff({ initialMs: 100, maxMs: 1000 }, () => 0, () => t);
    expect([1, 2, 3, 4, 5, 6].map(() => noJitter.nextDelay())).toEqual([100, 200, 400, 800, 1000, 1000]);
    noJitter.reset();
    expect(noJitter.nextDelay()).toBe(100);
    // A long healthy stretch since the last failure starts over as well.
    noJitter.nextDelay();
    t += 5000;
    expect(noJitter.nextDelay()).toBe(100);
    const fullJitter = new RestartBackoff({ initialMs: 100, maxMs: 1000 }, () => 0.999, () => 0);
    expect(fullJitter.nextDelay()).toBe(200);
  });

  it('by default retries within 0.8-1.6 s, and never waits more than 6 s however long the outage', () => {
    // Issue #16: a 30 s cap left a proxy asleep for up to 45 s after its apiserver came back.
    const earliest = new RestartBackoff(DEFAULT_WATCH_BACKOFF, () => 0, () => 0);
    const latest = new RestartBackoff(DEFAULT_WATCH_BACKOFF, () => 0.9999, () => 0);
    expect([earliest.nextDelay(), latest.nextDelay()]).toEqual([800, 1600]);
    const lows = Array.from({ length: 50 }, () => earliest.nextDelay());
    const highs = Array.from({ length: 50 }, () => latest.nextDelay());
    expect(Math.max(...highs)).toBeLessThanOrEqual(6000);
    // Still jittered at the cap: a 3 s window for thousands of nodes to spread over.
    expect(Math.min(...lows.slice(5))).toBe(3000);
    expect(Math.max(...highs.slice(5))).toBe(6000);
  });
});
