/**
 * Why: the fleet lab drives the real Pulumi CLI from the shell, as a platform team does: the
 * toolchain's `pulumi` in the project (Pulumi.yaml, stacks/), for one stack, offline (a
 * PULUMI_HOME and file:// backend from dev/pulumi/), never prompting.
 */
import { runCommand, type CommandResult } from '../process/run-command';

export interface PulumiStackProps {
  /** The toolchain's pulumi binary. */
  readonly pulumi: string;
  /** The project's directory (where Pulumi.yaml is). */
  readonly projectDir: string;
  readonly stack: string;
  /** PULUMI_HOME, the backend and the rest (preparePulumiHome). */
  readonly env: Record<string, string>;
  /** Encrypts the stack's secrets. */
  readonly passphrase: string;
}

export class PulumiStack {
  constructor(private readonly props: PulumiStackProps) {}

  get name(): string {
    return this.props.stack;
  }

  /** `pulumi ARGS` for this stack, to completion; the caller reads the exit code. */
  run(args: readonly string[], timeoutMs = 900_000): Promise<CommandResult> {
    return runCommand(this.props.pulumi, [...args, '--cwd', this.props.projectDir, '--stack', this.props.stack, '--non-interactive'], {
      env: { ...process.env, ...this.props.env, PULUMI_CONFIG_PASSPHRASE: this.props.passphrase },
      timeoutMs,
    });
  }

  /** `pulumi ARGS`, which must succeed; resolves with its standard output. */
  async ok(args: readonly string[], timeoutMs?: number): Promise<string> {
    const r = await this.run(args, timeoutMs);
    if (r.code !== 0) throw new Error(`pulumi ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }

  /** The resources the stack holds, by URN (none for an empty stack). */
  async resources(): Promise<string[]> {
    const exported = JSON.parse(await this.ok(['stack', 'export'])) as { deployment?: { resources?: { urn: string }[] } };
    return (exported.deployment?.resources ?? []).map((r) => r.urn);
  }
}
