/**
 * What the admin API's routes work with: the control plane's store, its in-memory view and the
 * settings for issuing kubeconfigs. The server assembles it once from its props (defaults
 * applied) and hands the same object to every resource file, so a route never reaches for a
 * global and a test can give the server whatever collaborators it wants.
 */
import type { Store } from '../store/store';
import type { AccessState } from '../access-state/access-state';
import type { KeyPairPem } from '../pki/certificates';
import type { Logger } from '../log/logger';
import type { AuditLog } from '../audit/audit-log';
import type { AgentInstallSettings } from './agent-install-settings';

/** What issuing a kubeconfig needs: the user CA's key and where (and how) users reach the edge. */
export interface KubeconfigIssuing {
  readonly userCa: KeyPairPem;
  /** Base URL of the edge, e.g. https://edge.example.com:8443 */
  readonly edgeUrl: string;
  /** The CA of the edge's serving certificate, which kubeconfigs trust. */
  readonly edgeCaPem: string;
  /** identity/user-identity.ts: the suffix of users' TLS server names. */
  readonly userServerNameSuffix: string;
  /** Lifetime when the request names none. */
  readonly defaultTtlMs: number;
  /** The longest lifetime anyone may ask for. */
  readonly maxTtlMs: number;
}

/** The server's collaborators, with defaults applied; every route gets them. */
export interface ApiDeps {
  readonly store: Store;
  readonly access: () => AccessState;
  readonly refresh: () => Promise<void>;
  readonly issueKubeconfig: KubeconfigIssuing;
  readonly clock: () => number;
  readonly newId: () => string;
  readonly logger: Logger;
  /** The audit log the /audit routes read; absent, they answer 503. */
  readonly audit?: AuditLog;
  /** What install links serve (`kubegate cluster add`); absent, those routes answer 501. */
  readonly agentInstall?: AgentInstallSettings;
}
