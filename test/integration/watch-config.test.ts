// loadKubeConfig's sources and the informer restart backoff.

import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RestartBackoff } from '../../proxy/watch/backoff.js';
import { loadKubeConfig } from '../../proxy/watch/index.js';

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
    expect(fullJitter.nextDelay()).toBe(150);
  });
});
