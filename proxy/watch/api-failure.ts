// What went wrong talking to the apiserver, said once and plainly. client-node's errors carry the
// whole response (ApiException's message embeds every header) or the request URL, which differ
// per resource and per attempt; this reduces them to a reason a person can act on and a key that
// is the same for every repeat of the same problem, so the watch logs each distinct one once.

/**
 * An open watch stream that broke: routine (an apiserver restart, a load balancer's idle cut) and
 * followed by an immediate reconnect, so it is no problem unless that reconnect fails too.
 */
const STREAM_CUT_CODES = new Set(['ERR_STREAM_PREMATURE_CLOSE']);

export interface ApiFailure {
  /** Equal for repeats of the same problem, whichever informer or attempt saw it. */
  readonly key: string;
  /** What failed and what to check. */
  readonly reason: string;
  /** HTTP status, or the system/TLS error code. */
  readonly code?: number | string;
  /** The apiserver's own message (Status.message) or the low-level error, without headers. */
  readonly detail?: string;
  /** A cut watch stream, not (yet) an outage. */
  readonly streamCut?: boolean;
}

/** Node's certificate verification failures (X509_V_ERR_* names and the host name check). */
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

const NETWORK_REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'cannot connect to the apiserver (connection refused)',
  ECONNRESET: 'the apiserver connection was reset',
  ETIMEDOUT: 'the apiserver connection timed out',
  EHOSTUNREACH: 'the apiserver host is unreachable',
  ENETUNREACH: 'the apiserver network is unreachable',
  ENOTFOUND: 'the apiserver host name does not resolve',
  EAI_AGAIN: 'the apiserver host name does not resolve (temporary DNS failure)',
  EPIPE: 'the apiserver connection broke',
};

export function describeApiFailure(err: unknown, resource: string): ApiFailure {
  const e: Record<string, unknown> = typeof err === 'object' && err !== null ? (err as Record<string, unknown>) : {};
  const status = typeof e['statusCode'] === 'number' ? e['statusCode'] : typeof e['code'] === 'number' ? e['code'] : undefined;
  if (status !== undefined) return httpFailure(status, statusMessage(e['body']), resource);
  const code = typeof e['code'] === 'string' ? e['code'] : undefined;
  const message = err instanceof Error ? err.message : String(err);
  // node-fetch says "request to <url> failed, reason: <cause>"; the URL is per resource.
  const detail = firstLine(message.replace(/^request to \S+ failed, reason: /, ''));
  if (code !== undefined && STREAM_CUT_CODES.has(code)) {
    return { key: `cut:${code}`, reason: 'the watch stream was cut', code, detail, streamCut: true };
  }
  if (code !== undefined && TLS_CODES.has(code)) {
    return {
      key: `tls:${code}`,
      reason: "TLS: the apiserver's certificate is not trusted; check the kubeconfig's certificate-authority and server name",
      code,
      detail,
    };
  }
  if (code !== undefined && NETWORK_REASONS[code] !== undefined) {
    return { key: `net:${code}`, reason: NETWORK_REASONS[code], code, detail };
  }
  if (code !== undefined && typeof e['path'] === 'string') {
    // A credentials file that vanished after start (they are all read once at start).
    return { key: `file:${code}:${e['path']}`, reason: `cannot read ${e['path']}`, code, detail };
  }
  return { key: `error:${code ?? ''}:${detail.slice(0, 200)}`, reason: 'request to the apiserver failed', ...(code ? { code } : {}), detail };
}

function httpFailure(status: number, message: string | undefined, resource: string): ApiFailure {
  const detail = message !== undefined ? { detail: message } : {};
  if (status === 401) {
    return {
      key: 'http:401',
      reason: 'the apiserver rejected the credentials (401 Unauthorized); check the token or client certificate',
      code: status,
      ...detail,
    };
  }
  if (status === 403) {
    // Permissions are per resource, so each forbidden resource is its own problem.
    return {
      key: `http:403:${resource}`,
      reason: `not allowed to list/watch ${resource} (403 Forbidden); check kube-proxy's RBAC`,
      code: status,
      ...detail,
    };
  }
  if (status === 429) return { key: 'http:429', reason: 'the apiserver is throttling requests (429)', code: status, ...detail };
  if (status >= 500) return { key: `http:${status}`, reason: `the apiserver is failing (HTTP ${status})`, code: status, ...detail };
  return { key: `http:${status}:${resource}`, reason: `the apiserver answered HTTP ${status}`, code: status, ...detail };
}

/** Status.message of an error body (an object, or the JSON text the generated client keeps). */
function statusMessage(body: unknown): string | undefined {
  let b: unknown = body;
  if (typeof body === 'string') {
    try {
      b = JSON.parse(body);
    } catch {
      return body.trim() === '' ? undefined : firstLine(body).slice(0, 300);
    }
  }
  if (typeof b === 'object' && b !== null && typeof (b as { message?: unknown }).message === 'string') {
    return (b as { message: string }).message.slice(0, 300);
  }
  return undefined;
}

function firstLine(s: string): string {
  return s.split('\n', 1)[0] ?? s;
}
