/**
 * `kubegate manifests agent --set ...`: the plain YAML of a member cluster's agent, from the
 * same construct Pulumi and Helm users get (constructs/kubegate-agent.ts), for people who use
 * neither: `kubegate manifests agent ... | kubectl apply -f -`. Nothing is contacted; bad props
 * are named, every one, before anything is printed.
 */
import { readFileSync } from 'node:fs';
import { App, Chart } from 'cdk8s';
import { stringify } from 'yaml';
import { KubegateAgent, KubegateAgentPropsError, type KubegateAgentProps } from '../../../constructs/kubegate-agent';
import { AgentRbacConfigError } from '../../../constructs/agent-rbac';
import { UsageError } from '../cli-error';
import { parseOptions } from '../parse-options';
import { setValues } from '../set-values';

const HELP = `Usage: kubegate manifests agent [--images FILE] [--set KEY=VALUE ...] [--set-file KEY=PATH ...]

Prints the manifests one member cluster applies (kubectl apply -f -): the agent and the
in-cluster Envoy, their namespaces and least rights, and the join token as a Secret.

Props (KubegateAgentProps; lists as {a,b}):
  cluster               the cluster's name at the hub (required)
  hubAgentEndpoint      the hub's agent port as the cluster reaches it, HOST:PORT (required)
  hubCaPem              the hub's internal CA, usually --set-file hubCaPem=ca.crt (required)
  images.agent          the agent image, by digest (required)
  images.envoy          the Envoy image, by digest (required)
  allowedClusterRoles   ClusterRoles kubegate may bind for users, e.g. {view,edit} (required)
  joinToken             the one-time token 'kubegate cluster add' printed
  labels.KEY            a label the cluster reports, e.g. labels.env=prod
  agentNamespace        default kubegate-system
  usersNamespace        default kubegate-users
  envoyAdminPort        default 9901

--images FILE takes images.agent and images.envoy from the results 'kubegate dev images'
writes (references by digest); --set images.* still wins.
`;

export const manifestsCommand = {
  summary: "print a member cluster's manifests (agent) as YAML",
  subcommands: ['agent'],
  async run(args: string[]): Promise<number> {
    const { values, positionals } = parseOptions(
      args,
      { set: { type: 'string', multiple: true }, 'set-file': { type: 'string', multiple: true }, images: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      true,
    );
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const [what, ...extra] = positionals;
    if (what !== 'agent') throw new UsageError(what ? `unknown manifests "${what}"; use agent` : 'say which manifests: agent; see --help');
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    const given = setValues(values.set ?? [], values['set-file'] ?? []);
    const built = values.images === undefined ? undefined : builtImages(values.images);
    const props = built ? { ...given, images: { ...built, ...((given.images as object | undefined) ?? {}) } } : given;
    const chart = new Chart(new App(), 'kubegate-agent');
    try {
      new KubegateAgent(chart, 'agent', props as unknown as KubegateAgentProps);
    } catch (err) {
      if (err instanceof KubegateAgentPropsError || err instanceof AgentRbacConfigError) throw new UsageError(err.message);
      throw err;
    }
    process.stdout.write(chart.toJson().map((o) => stringify(o, { lineWidth: 0 })).join('---\n'));
    return 0;
  },
};

/** images.agent and images.envoy from a `kubegate dev images` results file. */
function builtImages(file: string): { agent: string; envoy: string } {
  let parsed: { images?: Array<{ name?: unknown; reference?: unknown }> };
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as typeof parsed;
  } catch (err) {
    throw new UsageError(`--images ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not a results file of kubegate dev images (${(err as Error).message})`}`);
  }
  const reference = (name: string) => {
    const found = Array.isArray(parsed.images) ? parsed.images.find((i) => i.name === name) : undefined;
    if (typeof found?.reference !== 'string') throw new UsageError(`--images ${file}: it names no ${name} image; run kubegate dev images again`);
    return found.reference;
  };
  return { agent: reference('agent'), envoy: reference('envoy') };
}
