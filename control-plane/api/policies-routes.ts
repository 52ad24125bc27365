/**
 * The applied policy set. Anyone authenticated may read it, validate files against it and see
 * what a change would do (policies are not secret to the people they govern, and reviewers
 * need the diff); only administrators apply. An apply is all or nothing: a set with any error
 * changes nothing and the answer lists every error, and a set prepared against an older
 * revision is refused so that nobody overwrites a change they have not seen.
 */
import { loadPolicies, type PolicyFile } from '../../policies/src';
import { StoreConflictError } from '../store/store';
import type { ApiDeps, Route } from './api-route';
import { bodyObject, requiredInteger, type Body } from './api-input';
import { ApiError, badRequest, conflict, toApiPolicyError } from './api-errors';
import { documentRef, iso, type PolicyDiffView, type PolicySetView, type PolicyValidationView } from './api-views';
import { checkPolicySet, diffDocuments, diffFiles } from './policy-diff';
import { putInForce } from './in-force';

function policyFiles(body: Body): PolicyFile[] {
  const value = body.files;
  if (value === undefined || value === null) throw badRequest('files', 'files is required: a list of {fileName, text}');
  if (!Array.isArray(value)) throw badRequest('files', 'files must be a list of {fileName, text}');
  const seen = new Set<string>();
  return value.map((f: unknown, i) => {
    const field = `files[${i}]`;
    if (typeof f !== 'object' || f === null || Array.isArray(f)) throw badRequest(field, `${field} must be an object {fileName, text}`);
    const entry = f as Record<string, unknown>;
    for (const k of Object.keys(entry)) if (k !== 'fileName' && k !== 'text') throw badRequest(`${field}.${k}`, `unknown field "${k}" in ${field}; fields here: fileName, text`);
    if (typeof entry.fileName !== 'string' || entry.fileName.trim() === '') throw badRequest(`${field}.fileName`, `${field}.fileName must be a non-empty string`);
    if (typeof entry.text !== 'string') throw badRequest(`${field}.text`, `${field}.text must be a string`);
    if (seen.has(entry.fileName)) throw badRequest(`${field}.fileName`, `file "${entry.fileName}" is listed twice`);
    seen.add(entry.fileName);
    return { fileName: entry.fileName, text: entry.text };
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

export const policyRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: '/policies',
    handler: async (_req, deps) => ({ body: await policySetView(deps) }),
  },
  {
    method: 'POST',
    path: '/policies/validate',
    handler: async (req) => {
      const files = policyFiles(bodyObject(req.body, ['files']));
      const result = checkPolicySet(files);
      const view: PolicyValidationView = {
        valid: result.errors.length === 0,
        errors: result.errors.map(toApiPolicyError),
        documents: result.documents.map(documentRef),
      };
      return { body: view };
    },
  },
  {
    method: 'POST',
    path: '/policies/diff',
    handler: async (req, deps) => {
      const files = policyFiles(bodyObject(req.body, ['files']));
      const current = await deps.store.getPolicySet();
      const proposed = checkPolicySet(files);
      const view: PolicyDiffView = {
        revision: current.revision,
        valid: proposed.errors.length === 0,
        errors: proposed.errors.map(toApiPolicyError),
        documents: diffDocuments(checkPolicySet(current.files).documents, proposed.documents),
        files: diffFiles(current.files, files),
      };
      return { body: view };
    },
  },
  {
    method: 'PUT',
    path: '/policies',
    admin: true,
    handler: async (req, deps) => {
      const body = bodyObject(req.body, ['files', 'expectedRevision']);
      const files = policyFiles(body);
      const expectedRevision = requiredInteger(body, 'expectedRevision');
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
      return { body: await policySetView(deps) };
    },
  },
];
