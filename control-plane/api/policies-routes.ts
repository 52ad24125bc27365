/**
 * The applied policy set. Anyone authenticated may read it, validate files against it and see
 * what a change would do (policies are not secret to the people they govern, and reviewers
 * need the diff); only administrators apply. An apply is all or nothing: a set with any error
 * changes nothing and the answer lists every error, and a set prepared against an older
 * revision is refused so that nobody overwrites a change they have not seen.
 */
import { loadPolicies, type PolicyFile } from '../../policies/src';
import { StoreConflictError } from '../store/store';
import type { ApiDeps } from './api-deps';
import type { ApiInstance } from './api-request';
import { bodyWith, type JsonSchema } from './api-schemas';
import { ApiError, badRequest, conflict, toApiPolicyError } from './api-errors';
import { documentRef, iso, type PolicyDiffView, type PolicySetView, type PolicyValidationView } from './api-views';
import { checkPolicySet, diffDocuments, diffFiles } from './policy-diff';
import { putInForce } from './in-force';

/** `files`: the policy set's files, each a name and its YAML. */
const FILES: JsonSchema = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      fileName: { type: 'string', pattern: '\\S', problems: { type: '{field} must be a non-empty string', pattern: '{field} must be a non-empty string', required: '{field} must be a non-empty string' } },
      text: { type: 'string', problems: { required: '{field} must be a string' } },
    },
    required: ['fileName', 'text'],
    additionalProperties: false,
    problems: { type: '{field} must be an object {fileName, text}' },
  },
  problems: { type: '{field} must be a list of {fileName, text}', required: '{field} is required: a list of {fileName, text}' },
};

/** The files in the order given; a name listed twice is refused, naming the second. */
function policyFiles(files: readonly PolicyFile[]): PolicyFile[] {
  const seen = new Set<string>();
  return files.map((f, i) => {
    if (seen.has(f.fileName)) throw badRequest(`files[${i}].fileName`, `file "${f.fileName}" is listed twice`);
    seen.add(f.fileName);
    return { fileName: f.fileName, text: f.text };
  });
}

async function policySetView(deps: ApiDeps): Promise<PolicySetView> {
  const set = await deps.store.getPolicySet();
  const files = set.files.map((f) => ({ fileName: f.fileName, text: f.text }));
  return {
    revision: set.revision,
    appliedAt: set.revision > 0 ? iso(set.appliedAt) : null,
    appliedBy: set.revision > 0 ? set.appliedBy : null,
    files,
    documents: checkPolicySet(files).documents.map(documentRef),
  };
}

type FilesBody = { files: PolicyFile[] };

export function policyRoutes(app: ApiInstance, deps: ApiDeps): void {
  app.get('/policies', async () => policySetView(deps));

  app.post<{ Body: FilesBody }>('/policies/validate', { schema: { body: bodyWith({ files: FILES }, ['files']) } }, async (req) => {
    const files = policyFiles(req.body.files);
    const result = checkPolicySet(files);
    const view: PolicyValidationView = {
      valid: result.errors.length === 0,
      errors: result.errors.map(toApiPolicyError),
      documents: result.documents.map(documentRef),
    };
    return view;
  });

  app.post<{ Body: FilesBody }>('/policies/diff', { schema: { body: bodyWith({ files: FILES }, ['files']) } }, async (req) => {
    const files = policyFiles(req.body.files);
    const current = await deps.store.getPolicySet();
    const proposed = checkPolicySet(files);
    const view: PolicyDiffView = {
      revision: current.revision,
      valid: proposed.errors.length === 0,
      errors: proposed.errors.map(toApiPolicyError),
      documents: diffDocuments(checkPolicySet(current.files).documents, proposed.documents),
      files: diffFiles(current.files, files),
    };
    return view;
  });

  app.put<{ Body: FilesBody & { expectedRevision: number } }>(
    '/policies',
    {
      config: { admin: true },
      schema: {
        body: bodyWith(
          {
            files: FILES,
            expectedRevision: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, problems: { type: '{field} must be a non-negative integer', minimum: '{field} must be a non-negative integer', maximum: '{field} must be a non-negative integer' } },
          },
          ['files', 'expectedRevision'],
        ),
      },
    },
    async (req) => {
      const files = policyFiles(req.body.files);
      const expectedRevision = req.body.expectedRevision;
      // Throws PolicyValidationError with every error: answered 422, nothing stored.
      loadPolicies(files);
      let applied;
      try {
        applied = await deps.store.applyPolicySet({ files, appliedAt: deps.clock(), appliedBy: req.caller.user, expectedRevision });
      } catch (err) {
        if (!(err instanceof StoreConflictError)) throw err;
        const now = await deps.store.getPolicySet();
        throw conflict(
          `the policy set is at revision ${now.revision}, not ${expectedRevision}: it was applied in between (by ${now.appliedBy || 'someone'}); review the change with 'kubegate policy diff' and apply again`,
        );
      }
      deps.logger.info('policy set applied', { revision: applied.revision, files: files.length, by: req.caller.user });
      await putInForce(deps, `policy revision ${applied.revision}`);
      if (deps.access().policyRevision < applied.revision) {
        throw new ApiError(500, 'ERR_NOT_CONFIRMED', `policy revision ${applied.revision} was stored, but the control plane still enforces revision ${deps.access().policyRevision}; see the control plane log`);
      }
      return policySetView(deps);
    },
  );
}
