/**
 * Where the controller process gets its PKI: its state directory on a host, or, in a pod
 * (`kubernetesSecrets`), the Secrets every replica shares (pki/hub-secret-store.ts). In a pod
 * it also hands the edge Envoy its client certificate through a Secret the edge pods mount,
 * and keeps both current: renewals made by this replica are stored back every few minutes.
 */
import * as path from 'node:path';
import { loadOrCreatePki, type KubegatePki } from '../pki/kubegate-pki';
import { HubSecretStore, inClusterKubeClient } from '../pki/hub-secret-store';
import type { Logger } from '../log/logger';

/** The edge Envoy's client certificate toward the controller (kept in the PKI directory too). */
export const EDGE_XDS_CLIENT_COMPONENT = 'edge-xds-client';
/** How often renewed certificates are stored back to the Secrets. */
const SYNC_INTERVAL_MS = 5 * 60_000;

export interface ControllerPki {
  readonly pki: KubegatePki;
  /** Present in a pod: where the admin kubeconfig goes too. */
  readonly secrets?: HubSecretStore;
  /** Stops the periodic sync. */
  stop(): void;
}

export async function controllerPki(props: { stateDir: string; kubernetesSecrets?: { namespace: string }; apiNames?: readonly string[]; logger: Logger }): Promise<ControllerPki> {
  const load = () => loadOrCreatePki({ stateDir: props.stateDir, now: new Date(), ...(props.apiNames ? { apiNames: props.apiNames } : {}) });
  if (!props.kubernetesSecrets) return { pki: load(), stop: () => undefined };
  const secrets = new HubSecretStore(inClusterKubeClient(), props.kubernetesSecrets.namespace);
  const dir = path.join(props.stateDir, 'pki');
  const log = props.logger.child('pki');
  const restored = await secrets.restorePki(dir);
  let pki = load();
  pki.issueComponent(EDGE_XDS_CLIENT_COMPONENT, new Date());
  const saved = await secrets.savePki(pki.dir);
  if (saved === 'lost-race' || saved === 'other-pki') {
    // Another replica created the Secret after our read (before our create, or before we
    // saved the PKI we made meanwhile): theirs is the PKI, every replica's.
    await secrets.restorePki(dir);
    pki = load();
    pki.issueComponent(EDGE_XDS_CLIENT_COMPONENT, new Date());
  }
  log.info(restored && saved !== 'other-pki' ? 'PKI restored from its Secret' : saved === 'lost-race' || saved === 'other-pki' ? 'PKI taken from the replica that created it' : 'PKI created and stored in its Secret', { namespace: secrets.namespace, stored: saved });
  const publishEdgeClient = async () => {
    const pair = pki.issueComponent(EDGE_XDS_CLIENT_COMPONENT, new Date());
    await secrets.putEdgeXdsClient(pair, pki.internalCa.certPem);
  };
  await publishEdgeClient();
  const current = pki;
  const timer = setInterval(() => {
    void (async () => {
      await publishEdgeClient();
      const outcome = await secrets.savePki(current.dir);
      if (outcome === 'updated') log.info('renewed certificates stored in the PKI Secret', { namespace: secrets.namespace });
      // Never expected: this replica serves with CAs the Secret does not hold. It is not
      // overwritten; a restart takes the stored ones.
      if (outcome === 'other-pki') log.error('the PKI Secret holds other CAs than this replica serves with; restart it to take them', { namespace: secrets.namespace });
    })().catch((err: Error) => log.warn('could not store the PKI in its Secret; retrying later', { error: err }));
  }, SYNC_INTERVAL_MS);
  timer.unref();
  return { pki: current, secrets, stop: () => clearInterval(timer) };
}
