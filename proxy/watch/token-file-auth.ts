// Bearer tokens read from a file, as client-go does for a kubeconfig's tokenFile and the in-cluster
// service account: surrounding whitespace trimmed (client-node's own token-file provider sends a
// trailing newline along, which the apiserver rejects), re-read every minute so a rotated
// (projected) token is picked up, and the last good token kept if a re-read fails meanwhile.

import { readFileSync } from 'node:fs';
import type { KubeConfig, User } from '@kubernetes/client-node';

/** client-node's Authenticator (not exported from the package root). */
type Authenticator = Parameters<KubeConfig['addAuthenticator']>[0];

/** The auth-provider name kubeconfig.ts gives users whose token lives in a file. */
export const TOKEN_FILE_PROVIDER = 'kube-proxy-ts-token-file';

/** client-go's CachedFileTokenSource re-reads after a minute, too. */
const REREAD_MS = 60_000;

export function tokenFileOf(user: User | null | undefined): string | undefined {
  if (user?.authProvider?.name !== TOKEN_FILE_PROVIDER) return undefined;
  const path: unknown = user.authProvider.config?.['path'];
  return typeof path === 'string' ? path : undefined;
}

export class TokenFileAuth implements Authenticator {
  private readonly cache = new Map<string, { token: string; readAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  isAuthProvider(user: User): boolean {
    return tokenFileOf(user) !== undefined;
  }

  async applyAuthentication(user: User, opts: { headers?: Record<string, unknown> }): Promise<void> {
    const file = tokenFileOf(user);
    if (file === undefined) return;
    let entry = this.cache.get(file);
    if (entry === undefined || this.now() - entry.readAt > REREAD_MS) {
      try {
        entry = { token: readFileSync(file, 'utf8').trim(), readAt: this.now() };
        this.cache.set(file, entry);
      } catch (err) {
        // Read once successfully at start (kubeconfig.ts): keep using that while the file is away.
        if (entry === undefined) throw err;
      }
    }
    opts.headers ??= {};
    opts.headers['Authorization'] = `Bearer ${entry.token}`;
  }
}
