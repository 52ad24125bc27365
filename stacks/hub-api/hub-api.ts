/**
 * Why: the stacks act on a hub as its operator does, through the admin API, with the admin
 * credential the hub's controller keeps (and renews) in a Secret of the hub cluster. Reading it
 * afresh for every operation means a stack applied months later still works, and nothing but the
 * hub cluster's kubeconfig has to be kept in the stack's config. A hub `pulumi up` has just
 * installed may not answer yet: reads and calls wait for it, up to a deadline, and then say what
 * they waited for.
 *
 * Plain functions over node built-ins and `yaml` only: dynamic providers serialize what they call.
 */
import { ADMIN_KUBECONFIG_KEY, ADMIN_KUBECONFIG_SECRET } from '../../control-plane/hub-secrets/hub-secrets';
import { kubeTarget, type KubeTarget } from '../kube/kubeconfig-target';
import { describeBody, requestJson, UnreachableError, type JsonResponse } from '../kube/kube-request';

/** How a stack reaches one hub: its cluster (for the controller's Secrets) and its admin API. */
export interface HubApiAccess {
  /** The hub cluster's kubeconfig (YAML). */
  readonly kubeconfig: string;
  /** @default its current context */
  readonly context?: string;
  /** The hub's namespace. */
  readonly namespace: string;
  /** The admin API as the machine running Pulumi reaches it: https://HOST:PORT. */
  readonly apiUrl: string;
  /** How long a call waits for a hub that does not answer yet. @default 5 minutes */
  readonly waitMs?: number;
}

/** The admin API answered with an error, or never answered. */
export class HubApiError extends Error {
  readonly code = 'ERR_HUB_API';
  constructor(
    message: string,
    readonly status: number,
    readonly apiCode?: string,
  ) {
    super(message);
    this.name = 'HubApiError';
  }
}

/** The admin API's path prefix (control-plane/api/api-app.ts). */
const API_PREFIX = '/api/v1';
const RETRY_MS = 2_000;

/** Data key `key` of the hub's Secret `secret`, waiting while it does not exist yet. */
export async function hubSecretValue(access: HubApiAccess, secret: string, key: string): Promise<string> {
  const target = kubeTarget(access.kubeconfig, "the hub cluster's kubeconfig", access.context);
  const path = `/api/v1/namespaces/${encodeURIComponent(access.namespace)}/secrets/${encodeURIComponent(secret)}`;
  const what = `Secret ${access.namespace}/${secret}`;
  return waitFor<string>(access, what, async () => {
    const r = await requestJson<{ data?: Record<string, string> }>(target, path, { label: 'the hub cluster' });
    if (r.status === 404) return { retry: `${what} does not exist yet (the controller creates it when it starts)` };
    if (r.status !== 200) throw new HubApiError(`reading ${what} from the hub cluster failed with HTTP ${r.status}: ${describeBody(r.body)}`, r.status);
    const b64 = r.body?.data?.[key];
    if (!b64) return { retry: `${what} has no ${key} yet` };
    return { value: Buffer.from(b64, 'base64').toString('utf8') };
  });
}

/**
 * One admin API call as the hub's administrator. Any answer of the API is returned, errors
 * included, except 503 (a replica starting or the store unavailable), which is waited out.
 */
export async function hubApi<T = unknown>(access: HubApiAccess, method: string, path: string, body?: unknown): Promise<JsonResponse<T>> {
  const admin = kubeTarget(await hubSecretValue(access, ADMIN_KUBECONFIG_SECRET, ADMIN_KUBECONFIG_KEY), "the hub's admin kubeconfig");
  if (!admin.certPem || !admin.keyPem) throw new HubApiError("the hub's admin kubeconfig holds no client certificate", 0);
  const target: KubeTarget = { server: access.apiUrl.replace(/\/+$/, '') + API_PREFIX, ...(admin.caPem ? { caPem: admin.caPem } : {}), certPem: admin.certPem, keyPem: admin.keyPem };
  return waitFor<JsonResponse<T>>(access, `the hub's admin API at ${access.apiUrl}`, async () => {
    const r = await requestJson<T>(target, path, { method, body, label: "the hub's admin API", timeoutMs: 60_000 });
    if (r.status === 503) return { retry: `${method} ${path} answered 503: ${describeBody(r.body)}` };
    return { value: r };
  });
}

/** Throws the API's error for an answer that is not one of `ok`. */
export function expectStatus<T>(r: JsonResponse<T>, ok: readonly number[], what: string): T {
  if (ok.includes(r.status)) return r.body;
  const apiCode = (r.body as { code?: unknown } | undefined)?.code;
  throw new HubApiError(`${what}: the hub answered ${r.status}: ${describeBody(r.body)}`, r.status, typeof apiCode === 'string' ? apiCode : undefined);
}

/** Runs `attempt` until it gives a value, retrying unreachable servers and `retry` answers until the deadline. */
async function waitFor<T>(access: HubApiAccess, what: string, attempt: () => Promise<{ value: T } | { retry: string }>): Promise<T> {
  const deadline = Date.now() + (access.waitMs ?? 300_000);
  for (;;) {
    let why: string;
    try {
      const r = await attempt();
      if ('value' in r) return r.value;
      why = r.retry;
    } catch (err) {
      if (!(err instanceof UnreachableError)) throw err;
      why = err.message;
    }
    if (Date.now() + RETRY_MS > deadline) throw new HubApiError(`gave up waiting for ${what} after ${Math.round((access.waitMs ?? 300_000) / 1000)} s: ${why}`, 0);
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}
