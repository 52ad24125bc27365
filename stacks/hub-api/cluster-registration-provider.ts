/**
 * Why: a member cluster in a stack is registered with its hub as a real resource: `pulumi up`
 * registers it (and mints the one-time join token its agent joins with), changes its labels in
 * place, `pulumi refresh` notices a cluster deregistered or relabelled by hand, and `pulumi
 * destroy` (or dropping the cluster from the config) deregisters it, which disconnects its
 * agent. The hub's internal CA, which the agent verifies the hub with, is read alongside.
 *
 * A join token lives an hour: when it ran out before any agent used it (an apply that failed
 * and was retried the next day), the next `pulumi up` mints another.
 */
import type * as pulumi from '@pulumi/pulumi';
import { EDGE_XDS_CLIENT_KEYS, EDGE_XDS_CLIENT_SECRET } from '../../control-plane/hub-secrets/hub-secrets';
import { expectStatus, hubApi, hubSecretValue, type HubApiAccess } from './hub-api';

export interface ClusterRegistrationInputs {
  readonly access: HubApiAccess;
  /** The cluster's name at the hub (a DNS label). */
  readonly cluster: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface ClusterRegistrationOutputs extends ClusterRegistrationInputs {
  /** The one-time token the agent joins with (secret). */
  readonly joinToken: string;
  readonly joinTokenExpiresAt: string;
  /** The hub's internal CA (PEM), which the agent and its Envoy verify the hub with. */
  readonly hubCaPem: string;
}

interface ClusterView {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly agent?: { readonly status: string };
}

interface JoinTokenView {
  readonly token: string;
  readonly expiresAt: string;
}

const path = (cluster: string) => `/clusters/${encodeURIComponent(cluster)}`;

/** The registered cluster's view, or undefined when the hub does not know it. */
async function registered(access: HubApiAccess, cluster: string): Promise<ClusterView | undefined> {
  const r = await hubApi<{ cluster?: ClusterView } & Partial<ClusterView>>(access, 'GET', path(cluster));
  if (r.status === 404) return undefined;
  const body = expectStatus(r, [200], `reading cluster "${cluster}"`);
  return body.cluster ?? (body as ClusterView);
}

async function register(inputs: ClusterRegistrationInputs): Promise<void> {
  expectStatus(await hubApi(inputs.access, 'PUT', path(inputs.cluster), { labels: inputs.labels }), [200, 201], `registering cluster "${inputs.cluster}"`);
}

async function joinToken(inputs: ClusterRegistrationInputs): Promise<JoinTokenView> {
  return expectStatus(await hubApi<JoinTokenView>(inputs.access, 'POST', `${path(inputs.cluster)}/join-tokens`, {}), [201], `minting a join token for cluster "${inputs.cluster}"`);
}

function hubCa(access: HubApiAccess): Promise<string> {
  return hubSecretValue(access, EDGE_XDS_CLIENT_SECRET, EDGE_XDS_CLIENT_KEYS.ca);
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

/** The token ran out and no agent ever connected with it: a new one is needed. */
async function tokenSpent(olds: ClusterRegistrationOutputs): Promise<boolean> {
  if (Date.parse(olds.joinTokenExpiresAt) > Date.now()) return false;
  const view = await registered(olds.access, olds.cluster);
  return view !== undefined && (view.agent?.status ?? 'never-connected') === 'never-connected';
}

export const clusterRegistrationProvider: pulumi.dynamic.ResourceProvider<ClusterRegistrationInputs, ClusterRegistrationOutputs> = {
  async create(inputs) {
    await register(inputs);
    const token = await joinToken(inputs);
    return { id: inputs.cluster, outs: { ...inputs, joinToken: token.token, joinTokenExpiresAt: token.expiresAt, hubCaPem: await hubCa(inputs.access) } };
  },

  async read(id, props) {
    if (!props) throw new Error(`cluster "${id}" cannot be imported without its state; remove it from the hub and let \`pulumi up\` register it`);
    const view = await registered(props.access, props.cluster);
    // Deregistered by hand: gone, and the next `pulumi up` registers it again.
    if (!view) return {};
    const labels = { ...view.labels };
    return { id, props: { ...props, labels, hubCaPem: await hubCa(props.access) }, inputs: { access: props.access, cluster: props.cluster, labels } as ClusterRegistrationInputs as ClusterRegistrationOutputs };
  },

  async diff(_id, olds, news) {
    if (olds.cluster !== news.cluster) return { changes: true, replaces: ['cluster'], deleteBeforeReplace: true };
    const changes = !sameLabels(olds.labels, news.labels) || olds.access.apiUrl !== news.access.apiUrl || olds.access.namespace !== news.access.namespace || (await tokenSpent(olds));
    return { changes, replaces: [], deleteBeforeReplace: false };
  },

  async update(_id, olds, news) {
    if (!sameLabels(olds.labels, news.labels)) await register(news);
    const fresh = (await tokenSpent(olds)) ? await joinToken(news) : undefined;
    return {
      outs: {
        ...news,
        joinToken: fresh?.token ?? olds.joinToken,
        joinTokenExpiresAt: fresh?.expiresAt ?? olds.joinTokenExpiresAt,
        hubCaPem: await hubCa(news.access),
      },
    };
  },

  async delete(_id, props) {
    const r = await hubApi(props.access, 'DELETE', path(props.cluster));
    if (r.status === 404) return;
    expectStatus(r, [200, 204], `deregistering cluster "${props.cluster}"`);
  },
};
