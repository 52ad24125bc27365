/**
 * `kubegate manifests agent --set ...`: the plain YAML of a member cluster's agent, from the
 * same construct Pulumi and Helm users get (constructs/kubegate-agent.ts), for people who use
 * neither: `kubegate manifests agent ... | kubectl apply -f -`. Nothing is contacted; bad props
 * are named, every one, before anything is printed.
 */
import { App, Chart } from 'cdk8s';
import { stringify } from 'yaml';
import { KubegateAgent, KubegateAgentPropsError, type KubegateAgentProps } from '../../../constructs/kubegate-agent';
import { AgentRbacConfigError } from '../../../constructs/agent-rbac';
import { UsageError } from '../cli-error';
import { parseOptions } from '../parse-options';
import { setValues } from '../set-values';

const HELP = `Usage: kubegate manifests agent [--set KEY=VALUE ...] [--set-file KEY=PATH ...]

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
`;

export const manifestsCommand = {
  summary: "print a member cluster's manifests (agent) as YAML",
  subcommands: ['agent'],
  async run(args: string[]): Promise<number> {
    const { values, positionals } = parseOptions(args, { set: { type: 'string', multiple: true }, 'set-file': { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } }, true);
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const [what, ...extra] = positionals;
    if (what !== 'agent') throw new UsageError(what ? `unknown manifests "${what}"; use agent` : 'say which manifests: agent; see --help');
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    const props = setValues(values.set ?? [], values['set-file'] ?? []);
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
