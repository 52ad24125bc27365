/**
 * Why: the fleet-rollout benchmark's baseline. What `pulumi up` does, done by hand with kubectl
 * as a platform team without Pulumi would: the same construct manifests, rendered by
 * `kubegate manifests hub|agent` (the same constructs the stack's components synthesize) with the
 * same props, applied with `kubectl apply` through the same kubeconfigs the stack uses (the hub
 * cluster's admin, each member's through its relay), in the order the stack's dependencies
 * impose: the hub, awaited until rolled out; its admin API (policy set, each member registered
 * with the stack's labels and given a join token, as stacks/hub-api/ does); then every member's
 * agent at once, awaited until rolled out. An upgrade is the same manifests with the new images
 * applied again, to every cluster at once. Teardown deletes what was applied and anything left
 * labelled as kubegate's.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FLEET_ALLOWED_CLUSTER_ROLES, HUB_NAMESPACE, type FleetImages, type FleetLab } from '../dev/fleet/fleet-lab';
import { KUBEGATE_KINDS, KUBEGATE_SELECTORS } from '../dev/fleet/kubegate-objects';
import { AGENT_NAMESPACE, pollUntil } from './fleet-serving';
import { EDGE_XDS_CLIENT_KEYS, EDGE_XDS_CLIENT_SECRET } from '../control-plane/hub-secrets/hub-secrets';

/** `--set` flags for props: one level of nesting (prop.key=value), lists as {a,b}. */
export function setFlags(props: Record<string, unknown>, prefix = ''): string[] {
  const flags: string[] = [];
  for (const [key, value] of Object.entries(props)) {
    const name = `${prefix}${key}`;
    if (Array.isArray(value)) flags.push('--set', `${name}={${value.join(',')}}`);
    else if (value !== null && typeof value === 'object') {
      if (prefix) throw new Error(`--set ${name}: kubegate manifests takes one level below a prop, not more`);
      flags.push(...setFlags(value as Record<string, unknown>, `${name}.`));
    } else flags.push('--set', `${name}=${String(value)}`);
  }
  return flags;
}

interface JoinedMember {
  readonly token: string;
  readonly caFile: string;
  /** The manifests last applied there. */
  yaml: string;
}

export class KubectlApplyFleet {
  private hubYaml: string | undefined;
  private readonly joined = new Map<string, JoinedMember>();

  constructor(
    private readonly lab: FleetLab,
    /** Where rendered manifests and the hub's CA are kept. */
    private readonly dir: string,
  ) {
    fs.mkdirSync(dir, { recursive: true });
  }

  /** kubectl with a kubeconfig; throws with its stderr unless it exits 0. */
  private async kubectl(kubeconfig: string, args: readonly string[], input?: string, timeoutMs = 360_000): Promise<string> {
    const r = await this.lab.kubectlVia(kubeconfig, args, { timeoutMs, ...(input !== undefined ? { input } : {}) });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** `kubectl rollout status` of every Deployment and StatefulSet (the hub's edge) in the namespace, as Pulumi awaits each one. */
  private async rolledOut(kubeconfig: string, namespace: string): Promise<void> {
    const names = (await this.kubectl(kubeconfig, ['-n', namespace, 'get', 'deployments,statefulsets', '-o', 'name'])).split('\n').filter(Boolean);
    if (names.length === 0) throw new Error(`no Deployment or StatefulSet in ${namespace} to wait for`);
    for (const d of names) await this.kubectl(kubeconfig, ['-n', namespace, 'rollout', 'status', d, '--timeout=300s']);
  }

  private memberKubeconfig(name: string): string {
    const file = this.lab.member(name).kubeconfigFile;
    if (!file) throw new Error(`member ${name} has no kubeconfig yet`);
    return file;
  }

  /** The hub's manifests applied, rolled out, its admin API answering with the lab's policy set. */
  async installHub(images: FleetImages): Promise<void> {
    await this.applyHub(images);
    await this.lab.fetchAdminKubeconfig();
    // The stack's PolicySet waits for the API the same way (up to 5 minutes).
    await pollUntil('the admin API to take the policy set', async () => (await this.lab.api(['policy', 'apply', this.lab.policyDir]), true), 300_000);
  }

  private async applyHub(images: FleetImages): Promise<void> {
    const yaml = await this.lab.kubegate(['manifests', 'hub', ...setFlags({ ...this.lab.hubProps(), images })]);
    fs.writeFileSync(path.join(this.dir, 'hub.yaml'), yaml);
    this.hubYaml = yaml;
    const kc = this.lab.hub.adminKubeconfigPath;
    await this.kubectl(kc, ['apply', '-f', '-'], yaml);
    await this.rolledOut(kc, HUB_NAMESPACE);
  }

  /** Members registered with their labels and a join token each, then their agents applied at once and rolled out. */
  async joinMembers(names: readonly string[], images: FleetImages): Promise<void> {
    const caFile = path.join(this.dir, 'hub-ca.crt');
    const caB64 = await this.kubectl(this.lab.hub.adminKubeconfigPath, ['-n', HUB_NAMESPACE, 'get', 'secret', EDGE_XDS_CLIENT_SECRET, '-o', `jsonpath={.data.${EDGE_XDS_CLIENT_KEYS.ca.replace('.', '\\.')}}`]);
    fs.writeFileSync(caFile, Buffer.from(caB64, 'base64'));
    // Each member on its own, all at once, as Pulumi runs the stack's independent resources.
    await Promise.all(
      names.map(async (name) => {
        await this.lab.api(['cluster', 'register', name, ...Object.entries(this.lab.clusterLabels(name)).flatMap(([k, v]) => ['--label', `${k}=${v}`])]);
        const { token } = JSON.parse(await this.lab.api(['cluster', 'join-token', name, '-o', 'json'])) as { token: string };
        this.joined.set(name, { token, caFile, yaml: '' });
        await this.applyMember(name, images);
      }),
    );
  }

  private async applyMember(name: string, images: FleetImages): Promise<void> {
    const joined = this.joined.get(name);
    if (!joined) throw new Error(`member ${name} was never joined`);
    const yaml = await this.lab.kubegate([
      'manifests', 'agent',
      ...setFlags({ cluster: name, hubAgentEndpoint: this.lab.hubAgentEndpoint, images: { agent: images.agent, envoy: images.envoy }, allowedClusterRoles: [...FLEET_ALLOWED_CLUSTER_ROLES], joinToken: joined.token }),
      '--set-file', `hubCaPem=${joined.caFile}`,
    ]);
    fs.writeFileSync(path.join(this.dir, `agent-${name}.yaml`), yaml);
    joined.yaml = yaml;
    const kc = this.memberKubeconfig(name);
    await this.kubectl(kc, ['apply', '-f', '-'], yaml);
    await this.rolledOut(kc, AGENT_NAMESPACE);
  }

  /**
   * The same manifests with other images, applied to the hub and every member at once, each then
   * awaited until rolled out: nothing of an upgrade needs the hub first (the agents keep their
   * identities and the hub its CA), so this is the most direct way with kubectl.
   */
  async upgrade(names: readonly string[], images: FleetImages): Promise<void> {
    await Promise.all([this.applyHub(images), ...names.map((name) => this.applyMember(name, images))]);
  }

  /** Deletes what was applied, members first, then whatever is still labelled as kubegate's (what the agent made for users). */
  async teardown(): Promise<void> {
    await Promise.all(
      [...this.joined.entries()].map(async ([name, joined]) => {
        const kc = this.memberKubeconfig(name);
        if (joined.yaml) await this.kubectl(kc, ['delete', '--ignore-not-found', '--wait', '--timeout=300s', '-f', '-'], joined.yaml);
        for (const selector of KUBEGATE_SELECTORS) await this.kubectl(kc, ['delete', KUBEGATE_KINDS, '-A', '-l', selector, '--ignore-not-found', '--wait', '--timeout=300s']);
      }),
    );
    this.joined.clear();
    const kc = this.lab.hub.adminKubeconfigPath;
    if (this.hubYaml) await this.kubectl(kc, ['delete', '--ignore-not-found', '--wait', '--timeout=300s', '-f', '-'], this.hubYaml);
    for (const selector of KUBEGATE_SELECTORS) await this.kubectl(kc, ['delete', KUBEGATE_KINDS, '-A', '-l', selector, '--ignore-not-found', '--wait', '--timeout=300s']);
    this.hubYaml = undefined;
  }
}
