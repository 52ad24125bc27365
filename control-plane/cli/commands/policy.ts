/**
 * `kubegate policy ...`: check policy files locally, see what applying them would change, apply
 * them, and read what is applied. `validate` runs entirely locally (no control plane needed, so
 * it fits pre-commit hooks and CI); the others go through the admin API.
 */
import type { ApiPolicyError } from '../../api/api-errors';
import type { DocumentRef, PolicyDiffView, PolicySetView } from '../../api/api-views';
import { checkPolicySet } from '../../api/policy-diff';
import { toApiPolicyError } from '../../api/api-errors';
import { documentRef } from '../../api/api-views';
import { ApiRequestError } from '../api-client';
import { UsageError } from '../cli-error';
import { digits, flagRules } from '../flag-rules';
import { parseOptions } from '../parse-options';
import { apiSubcommand } from './api-command';
import { OUTPUT_OPTION, TEXT_OUTPUT_HELP, outputFormat, printFields, printJson, printTable } from './output';
import { readPolicyFiles } from './policy-files';
import { commandGroup, type Subcommand } from './subcommands';

const formatError = (e: ApiPolicyError) => `${e.file}:${e.line}:${e.column}: ${e.code} ${e.message}`;

function countByKind(documents: readonly DocumentRef[]): string {
  const counts = new Map<string, number>();
  for (const d of documents) counts.set(d.kind, (counts.get(d.kind) ?? 0) + 1);
  return [...counts].map(([kind, n]) => `${n} ${kind}`).join(', ') || 'no documents';
}

function requirePaths(paths: readonly string[]): void {
  if (paths.length === 0) throw new UsageError('name at least one policy file or directory; see --help');
}

const VALIDATE_HELP = `Usage: kubegate policy validate PATH... [-o text|json]

Checks policy files (or directories of *.yaml / *.yml, searched recursively) the way the
control plane will when they are applied: every error of every file in one run, one line each,
as file:line:column: CODE message. Exits 1 when there is any error. Works offline.

Options:
  -o, --output FORMAT   text (default) or json
`;

const validate: Subcommand = {
  summary: 'check policy files locally (no control plane needed)',
  async run(args) {
    const { values, positionals } = parseOptions(args, { ...OUTPUT_OPTION, help: { type: 'boolean', short: 'h' } }, true);
    if (values.help) {
      process.stdout.write(VALIDATE_HELP);
      return 0;
    }
    const format = outputFormat(values.output, ['text', 'json']);
    requirePaths(positionals);
    const files = readPolicyFiles(positionals);
    const result = checkPolicySet(files);
    const errors = result.errors.map(toApiPolicyError);
    const documents = result.documents.map(documentRef);
    if (format === 'json') {
      printJson({ valid: errors.length === 0, errors, documents });
    } else if (errors.length > 0) {
      process.stdout.write(errors.map(formatError).join('\n') + '\n');
      const inFiles = new Set(errors.map((e) => e.file)).size;
      process.stderr.write(`${errors.length} error${errors.length === 1 ? '' : 's'} in ${inFiles} of ${files.length} file${files.length === 1 ? '' : 's'}\n`);
    } else {
      process.stdout.write(`ok: ${files.length} file${files.length === 1 ? '' : 's'}, ${countByKind(documents)}\n`);
    }
    return errors.length === 0 ? 0 : 1;
  },
};

function printDiff(d: PolicyDiffView): void {
  const { added, removed, changed, unchanged } = d.documents;
  process.stdout.write(`against revision ${d.revision}: ${added.length} added, ${changed.length} changed, ${removed.length} removed, ${unchanged} unchanged\n`);
  for (const [mark, docs] of [['+', added], ['~', changed], ['-', removed]] as const) {
    for (const doc of docs) process.stdout.write(`  ${mark} ${doc.kind}/${doc.name}\n`);
  }
  for (const f of d.files) process.stdout.write(`\n${f.diff}`);
}

/** Prints a 422's policy errors before the error itself reaches main (which exits 1). */
function reportPolicyErrors(err: unknown): never {
  if (err instanceof ApiRequestError && err.errors) process.stderr.write(err.errors.map(formatError).join('\n') + '\n');
  throw err;
}

const diff = apiSubcommand({
  summary: 'show what applying policy files would change',
  usage: 'policy diff PATH... [-o text|json]',
  description:
    'Compares the files (or directories of *.yaml / *.yml) with the applied policy set: documents added, changed and removed (by kind and name), and a line diff of each file. Exits 1 if the files do not load, listing every error.',
  options: OUTPUT_OPTION,
  optionsHelp: TEXT_OUTPUT_HELP,
  positionals: ['PATH'],
  variadic: true,
  async run(values, paths, client) {
    const format = outputFormat(values.output, ['text', 'json']);
    const files = readPolicyFiles(paths);
    const d = await client().post<PolicyDiffView>('/policies/diff', { files });
    if (format === 'json') {
      printJson(d);
      return d.valid ? 0 : 1;
    }
    if (d.files.length === 0) process.stdout.write(`no changes against revision ${d.revision}\n`);
    else printDiff(d);
    if (!d.valid) {
      process.stderr.write(d.errors.map(formatError).join('\n') + '\n');
      process.stderr.write(`the files do not load (${d.errors.length} error${d.errors.length === 1 ? '' : 's'}): applying them would change nothing\n`);
      return 1;
    }
    return 0;
  },
});

const apply = apiSubcommand({
  summary: 'apply policy files (all or nothing)',
  usage: 'policy apply PATH... [--expected-revision N] [-o text|json]',
  description: `Replaces the applied policy set with these files (or directories of *.yaml / *.yml). The
whole set is checked first: with any error nothing changes and every error is listed. The set
is applied only if the applied revision is still the one the files were compared against, so a
change someone else applied in between is never overwritten unseen. Prints what changed.`,
  options: { 'expected-revision': { type: 'string' }, ...OUTPUT_OPTION },
  optionsHelp: `  --expected-revision N apply only if the applied revision is still N (e.g. the one a
                        reviewed 'policy diff' showed); default: the revision at the time of the call
${TEXT_OUTPUT_HELP}`,
  positionals: ['PATH'],
  variadic: true,
  flagRules: flagRules({ 'expected-revision': digits('--expected-revision', 'a revision number') }),
  async run(values, paths, client) {
    const format = outputFormat(values.output, ['text', 'json']);
    const expected = values['expected-revision'] === undefined ? undefined : Number(values['expected-revision']);
    const files = readPolicyFiles(paths);
    const api = client();
    const d = await api.post<PolicyDiffView>('/policies/diff', { files });
    if (d.valid && d.files.length === 0 && (expected === undefined || expected === d.revision)) {
      if (format === 'json') printJson({ changed: false, revision: d.revision });
      else process.stdout.write(`no changes: revision ${d.revision} stays in force\n`);
      return 0;
    }
    const applied = await api.put<PolicySetView>('/policies', { files, expectedRevision: expected ?? d.revision }).catch(reportPolicyErrors);
    if (format === 'json') {
      printJson({ changed: true, ...applied, diff: d });
      return 0;
    }
    const { added, removed, changed } = d.documents;
    process.stdout.write(
      `applied revision ${applied.revision}: ${added.length} added, ${changed.length} changed, ${removed.length} removed (${countByKind(applied.documents)} in force)\n`,
    );
    for (const [mark, docs] of [['+', added], ['~', changed], ['-', removed]] as const) {
      for (const doc of docs) process.stdout.write(`  ${mark} ${doc.kind}/${doc.name}\n`);
    }
    return 0;
  },
});

const get = apiSubcommand({
  summary: 'show the applied policy set',
  usage: 'policy get [-o yaml|json]',
  description: `Shows the applied policy set: its revision, when and by whom it was applied, and its
documents. With -o yaml, prints the applied files themselves as one YAML stream (each
preceded by a comment naming it); with -o json, everything including the files.`,
  options: OUTPUT_OPTION,
  optionsHelp: '  -o, --output FORMAT   text (default), yaml or json\n',
  async run(values, _args, client) {
    const format = outputFormat(values.output, ['text', 'yaml', 'json']);
    const set = await client().get<PolicySetView>('/policies');
    if (format === 'json') {
      printJson(set);
      return 0;
    }
    if (format === 'yaml') {
      const parts = set.files.map((f) => `# kubegate policy file: ${f.fileName}\n${f.text.endsWith('\n') || f.text === '' ? f.text : f.text + '\n'}`);
      process.stdout.write(parts.join('---\n'));
      return 0;
    }
    if (set.revision === 0) {
      process.stdout.write('no policy set applied yet: nobody has access through kubegate\n');
      return 0;
    }
    printFields([
      ['revision', String(set.revision)],
      ['applied', `${set.appliedAt} by ${set.appliedBy}`],
      ['files', String(set.files.length)],
      ['documents', countByKind(set.documents)],
    ]);
    process.stdout.write('\n');
    printTable(['kind', 'name', 'source'], set.documents.map((d) => [d.kind, d.name, `${d.file}:${d.line}`]), 'no documents');
    return 0;
  },
});

export const policyCommand = commandGroup('policy', 'validate, diff, apply and read access policies', { validate, diff, apply, get });
