// A throwaway self-signed serving certificate for the HTTPS listener, made with the openssl CLI so
// the tests need no extra npm dependency. The certificate is its own CA, so a kubeconfig can pin it
// with certificate-authority-data exactly as it would pin a real cluster CA.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../../modes/shared/exec.js';

export interface ServingCert {
  readonly certPem: string;
  readonly keyPem: string;
}

/** undefined when openssl is unavailable (callers fall back to plain HTTP). */
export async function generateSelfSignedCert(): Promise<ServingCert | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'test-apiserver-tls-'));
  try {
    const cert = join(dir, 'tls.crt');
    const key = join(dir, 'tls.key');
    // EC keys are generated in milliseconds, RSA can take a second on a loaded machine.
    const r = await exec(
      [
        'openssl', 'req', '-x509', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
        '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=test-apiserver',
        '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-addext', 'basicConstraints=critical,CA:TRUE',
      ],
      { timeoutMs: 20_000 },
    ).catch(() => undefined);
    if (!r || r.code !== 0) return undefined;
    return { certPem: await readFile(cert, 'utf8'), keyPem: await readFile(key, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
