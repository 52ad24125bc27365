/**
 * Why: a policy set kept in a stack is a real resource of the hub's, so `pulumi preview` shows a
 * changed file as a diff, `pulumi up` applies it through the admin API (answered once it is in
 * force at the edge, so Envoy has it when `up` ends), and `pulumi refresh` sees a set applied
 * by hand. Every apply names the revision it replaces: a set changed outside the stack since
 * the last refresh is never overwritten unseen. Deleting the resource applies an empty set.
 *
 * Files are kept as a map of file name to text, so a diff names the files that changed.
 */
import type * as pulumi from '@pulumi/pulumi';
import { expectStatus, hubApi, type HubApiAccess } from './hub-api';

export interface PolicySetInputs {
  readonly access: HubApiAccess;
  /** File name to YAML text. */
  readonly files: Readonly<Record<string, string>>;
}

export interface PolicySetOutputs extends PolicySetInputs {
  /** The hub's policy revision this set was applied as (or read at). */
  readonly revision: number;
}

interface PolicySetView {
  readonly revision: number;
  readonly files: readonly { readonly fileName: string; readonly text: string }[];
}

/** The hub's one policy set: a single resource per hub, whatever it is called. */
const POLICY_SET_ID = 'policy-set';

async function current(access: HubApiAccess): Promise<PolicySetView> {
  return expectStatus(await hubApi<PolicySetView>(access, 'GET', '/policies'), [200], 'reading the policy set');
}

async function apply(access: HubApiAccess, files: Readonly<Record<string, string>>, expectedRevision: number): Promise<number> {
  const body = { files: Object.keys(files).sort().map((fileName) => ({ fileName, text: files[fileName]! })), expectedRevision };
  const r = await hubApi<PolicySetView>(access, 'PUT', '/policies', body);
  if (r.status === 409) {
    throw new Error(`the hub's policy set was changed outside this stack (it is no longer at revision ${expectedRevision}); run \`pulumi refresh\` to see the change, then \`pulumi up\` again. The hub said: ${(r.body as { message?: string })?.message ?? ''}`);
  }
  return expectStatus(r, [200], 'applying the policy set').revision;
}

function asMap(files: PolicySetView['files']): Record<string, string> {
  return Object.fromEntries(files.map((f) => [f.fileName, f.text]));
}

function sameFiles(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

export const policySetProvider: pulumi.dynamic.ResourceProvider<PolicySetInputs, PolicySetOutputs> = {
  async create(inputs) {
    // The first apply takes over whatever set the hub holds now (its defaults, or a hand-applied one).
    const now = await current(inputs.access);
    const revision = sameFiles(asMap(now.files), inputs.files) ? now.revision : await apply(inputs.access, inputs.files, now.revision);
    return { id: POLICY_SET_ID, outs: { ...inputs, revision } };
  },

  async read(id, props) {
    if (!props) throw new Error('a policy set cannot be imported without its state');
    const now = await current(props.access);
    const files = asMap(now.files);
    // A set applied by hand becomes the resource's state and inputs: the next preview shows
    // the way back to the stack's files as a diff.
    return { id, props: { ...props, files, revision: now.revision }, inputs: { access: props.access, files } as PolicySetInputs as PolicySetOutputs };
  },

  async diff(_id, olds, news) {
    const changes = !sameFiles(olds.files, news.files) || olds.access.apiUrl !== news.access.apiUrl || olds.access.namespace !== news.access.namespace;
    return { changes, replaces: [], deleteBeforeReplace: false };
  },

  async update(_id, olds, news) {
    const revision = sameFiles(olds.files, news.files) ? olds.revision : await apply(news.access, news.files, olds.revision);
    return { outs: { ...news, revision } };
  },

  async delete(_id, props) {
    // Whatever the hub holds goes: destroying the set means the stack no longer grants anything.
    const now = await current(props.access);
    if (now.files.length === 0) return;
    await apply(props.access, {}, now.revision);
  },
};
