import type { Path } from './decode-context';
import { formatPath } from './decode-context';
import { positionOf } from './document-sources';
import type { ClusterSettings } from './cluster-settings';
import type { PolicyDocument } from './policy-document';
import { PolicyConflictError, PolicyDuplicateError, type PolicyError, type PolicyErrorClass } from './policy-errors';
import { PolicyValidationError } from './policy-validation-error';

/**
 * The checks that need several documents at once: names unique per kind, and each cluster's
 * settings in one place. Documents may come from different files.
 * @throws PolicyValidationError listing every problem found
 */
export function validatePolicies(documents: readonly PolicyDocument[]): void {
  const errors = crossDocumentErrors(documents);
  if (errors.length > 0) throw new PolicyValidationError(errors);
}

/** The cross-document problems, without throwing. */
export function crossDocumentErrors(documents: readonly PolicyDocument[]): PolicyError[] {
  return [...duplicateNames(documents), ...clusterSettingsOverlap(documents.filter((d): d is ClusterSettings => d.kind === 'ClusterSettings'))];
}

function errorAt(ErrorClass: PolicyErrorClass, document: PolicyDocument, path: Path, message: string): PolicyError {
  const { line, column } = positionOf(document, path);
  return new ErrorClass({ file: document.source.file, line, column, path: formatPath(path) }, message);
}

function where(document: PolicyDocument, path: Path): string {
  const { line, column } = positionOf(document, path);
  return `${document.source.file}:${line}:${column}`;
}

function duplicateNames(documents: readonly PolicyDocument[]): PolicyError[] {
  const first = new Map<string, PolicyDocument>();
  const errors: PolicyError[] = [];
  for (const document of documents) {
    const key = `${document.kind}/${document.metadata.name}`;
    const earlier = first.get(key);
    if (!earlier) {
      first.set(key, document);
      continue;
    }
    errors.push(
      errorAt(
        PolicyDuplicateError,
        document,
        ['metadata', 'name'],
        `${document.kind} ${JSON.stringify(document.metadata.name)} is already defined at ${where(earlier, ['metadata', 'name'])}: names are unique per kind; rename or merge one of them`,
      ),
    );
  }
  return errors;
}

/**
 * A cluster named by two ClusterSettings, or two ClusterSettings for all clusters, would leave
 * readers guessing which switch applies. Overlap through selectors is allowed (labels are only
 * known at run time) and resolved as ClusterSettingsSpec describes.
 */
function clusterSettingsOverlap(settings: readonly ClusterSettings[]): PolicyError[] {
  const errors: PolicyError[] = [];
  const byName = new Map<string, { document: ClusterSettings; path: Path }>();
  let allClusters: ClusterSettings | undefined;
  for (const document of settings) {
    const { names, all } = document.spec.clusters;
    names?.forEach((name, i) => {
      const path: Path = ['spec', 'clusters', 'names', i];
      const earlier = byName.get(name);
      if (!earlier) {
        byName.set(name, { document, path });
        return;
      }
      if (earlier.document === document) return;
      errors.push(
        errorAt(
          PolicyConflictError,
          document,
          path,
          `cluster ${JSON.stringify(name)} is also named by ClusterSettings ${JSON.stringify(earlier.document.metadata.name)} at ${where(earlier.document, earlier.path)}: name each cluster in one ClusterSettings, so its switches are in one place`,
        ),
      );
    });
    if (all) {
      if (allClusters) {
        errors.push(
          errorAt(
            PolicyConflictError,
            document,
            ['spec', 'clusters', 'all'],
            `ClusterSettings ${JSON.stringify(allClusters.metadata.name)} at ${where(allClusters, ['spec', 'clusters', 'all'])} already applies to all clusters: keep one ClusterSettings with all: true`,
          ),
        );
      } else {
        allClusters = document;
      }
    }
  }
  return errors;
}
