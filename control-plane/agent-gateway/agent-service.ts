/**
 * AgentService over gRPC (agent/protocol/agent.proto): Join, Renew and the Connect session.
 * Served on the control plane's agent port, where client certificates are optional at the TLS
 * layer (a joining agent has none yet) and required, from the agent CA, by every call but Join.
 * A replica that is stopping (draining) refuses new sessions with UNAVAILABLE.
 */
import * as grpc from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import type { Logger } from '../log/logger';
import type { Store } from '../store/store';
import { JoinTokenRejectedError, StoreNotFoundError } from '../store/store';
import { CertificateError } from '../pki/certificates';
import { agentServiceDefinition, type AgentMessage, type CertificateResponse, type JoinRequest, type RenewRequest } from '../../agent/protocol/agent-protocol';
import { CLUSTER_NAME, clusterOfAgentUris } from '../../agent/protocol/identities';
import { AgentSession, type ConnectCall } from './agent-session';
import type { AgentHub } from './agent-hub';
import { hashJoinSecret, parseJoinToken, MalformedJoinTokenError } from './join-token';
import { AgentError, ClusterNotRegisteredError } from './agent-errors';
import { certifiedAt, registrationRefusal } from './agent-registration';
import { AGENT_SILENCE_MS } from './agent-silence';

export interface AgentServiceProps {
  readonly store: Store;
  readonly hub: AgentHub;
  readonly logger: Logger;
  readonly clock: () => number;
  /** Certifies an agent's public key for a cluster. */
  readonly issue: (cluster: string, publicKeyPem: string, now: Date) => string;
  /**
   * Idle period after which agents remove a user's ServiceAccount (seconds), for a cluster
   * with the labels its agent's hello reported.
   */
  readonly idleTimeoutSeconds: (cluster: string, labels: Readonly<Record<string, string>>) => number;
  /** @default 10 */
  readonly heartbeatIntervalSeconds?: number;
  /**
   * How long a connected agent may stay silent (no heartbeat nor any other message) before its
   * session is ended. @default AGENT_SILENCE_MS, or three heartbeat intervals if that is longer
   */
  readonly silenceMs?: number;
  /** How long an agent may take to say hello after connecting. @default 10000 */
  readonly helloTimeoutMs?: number;
  /**
   * Whether this replica is stopping: new sessions are then refused with UNAVAILABLE, and the
   * agent dials again, which the Service routes to a replica still serving. @default never
   */
  readonly draining?: () => boolean;
}

/** What an agent hears from a draining replica; it retries, and lands on another. */
export const DRAINING_DETAILS = 'this kubegate controller replica is stopping and takes no new agent sessions; connect again (the Service routes new connections to the replicas still serving)';

/** An agent's verified certificate: its cluster, serial and when it was issued (agent-registration.ts). */
export interface AgentPeer {
  readonly cluster: string;
  readonly serial: string;
  readonly certifiedAt: number;
}

type PeerCertificate = { subjectaltname?: string; serialNumber?: string; valid_from?: string };

/** The cluster named by the verified peer certificate of a call, if it is an agent's. */
export function peerCluster(call: { getAuthContext(): { sslPeerCertificate?: PeerCertificate } | null }): AgentPeer | undefined {
  const cert = call.getAuthContext()?.sslPeerCertificate;
  if (!cert) return undefined;
  const uris = (cert.subjectaltname ?? '')
    .split(/,\s*/)
    .filter((s: string) => s.startsWith('URI:'))
    .map((s: string) => s.slice(4));
  const cluster = clusterOfAgentUris(uris);
  return cluster ? { cluster, serial: (cert.serialNumber ?? '').toLowerCase(), certifiedAt: certifiedAt(Date.parse(cert.valid_from ?? '')) } : undefined;
}

function notAfterOf(certPem: string): number {
  return new Date(new X509Certificate(certPem).validTo).getTime();
}

export function addAgentService(server: grpc.Server, props: AgentServiceProps): void {
  const { logger, hub } = props;
  const heartbeatSeconds = props.heartbeatIntervalSeconds ?? 10;
  const silenceMs = props.silenceMs ?? Math.max(AGENT_SILENCE_MS, 3 * heartbeatSeconds * 1000);
  let sessions = 0;
  const fail = (callback: grpc.sendUnaryData<CertificateResponse>, code: grpc.status, details: string) => callback({ code, details });
  const draining = props.draining ?? (() => false);
  /** Refuses the call if this replica is draining; says whether it did. */
  const refusedWhileDraining = (call: ConnectCall, cluster: string): boolean => {
    if (!draining()) return false;
    logger.info('agent session refused: this replica is draining', { cluster });
    call.emit('error', { code: grpc.status.UNAVAILABLE, details: DRAINING_DETAILS });
    return true;
  };

  server.addService(agentServiceDefinition().service, {
    Join: (call: grpc.ServerUnaryCall<JoinRequest, CertificateResponse>, callback: grpc.sendUnaryData<CertificateResponse>) => {
      const { token, cluster, public_key_pem: publicKeyPem } = call.request;
      void (async () => {
        if (!CLUSTER_NAME.test(cluster)) return fail(callback, grpc.status.INVALID_ARGUMENT, `cluster name "${cluster}" must be a DNS label`);
        let parts;
        try {
          parts = parseJoinToken(token);
        } catch (err) {
          return fail(callback, grpc.status.INVALID_ARGUMENT, (err as MalformedJoinTokenError).message);
        }
        const now = props.clock();
        try {
          const record = await props.store.consumeJoinToken(parts.id, hashJoinSecret(parts.secret), now);
          if (record.cluster !== cluster) {
            logger.warn('join refused: token is for another cluster', { token: parts.id, tokenCluster: record.cluster, cluster });
            return fail(callback, grpc.status.PERMISSION_DENIED, `join token "${parts.id}" is for cluster "${record.cluster}", not "${cluster}"; it is now used up`);
          }
          const certificatePem = props.issue(cluster, publicKeyPem, new Date(now));
          if (!(await props.store.getCluster(cluster))) {
            await props.store.upsertCluster({ name: cluster, labels: {}, kubernetesVersion: '', apiserverCaPem: '', apiserverHost: '', apiserverPort: 0, agentVersion: '', agentCertificateSerial: '', registeredAt: now, lastSeenAt: 0 });
          }
          logger.info('agent joined', { cluster, token: parts.id });
          callback(null, { certificate_pem: certificatePem, not_after_ms: String(notAfterOf(certificatePem)) });
        } catch (err) {
          if (err instanceof JoinTokenRejectedError) {
            logger.warn('join refused', { token: parts.id, reason: err.reason, cluster });
            return fail(callback, grpc.status.PERMISSION_DENIED, err.message);
          }
          if (err instanceof CertificateError) return fail(callback, grpc.status.INVALID_ARGUMENT, err.message);
          logger.error('join failed', { cluster, error: (err as Error).message });
          return fail(callback, grpc.status.UNAVAILABLE, 'kubegate could not complete the join; try again');
        }
      })();
    },

    Renew: (call: grpc.ServerUnaryCall<RenewRequest, CertificateResponse>, callback: grpc.sendUnaryData<CertificateResponse>) => {
      const peer = peerCluster(call);
      if (!peer) return fail(callback, grpc.status.UNAUTHENTICATED, 'renewal needs the agent certificate issued at join');
      void (async () => {
        // A deregistered cluster's agent gets no new certificate: its identity ends with the one it holds.
        let refusal: AgentError | undefined;
        try {
          refusal = registrationRefusal(peer.cluster, await props.store.getCluster(peer.cluster), peer.certifiedAt);
        } catch (err) {
          logger.error('renewal failed: the cluster\'s registration could not be read', { cluster: peer.cluster, error: (err as Error).message });
          return fail(callback, grpc.status.UNAVAILABLE, 'kubegate could not check the cluster\'s registration; try again');
        }
        if (refusal) {
          logger.warn('renewal refused', { cluster: peer.cluster, code: refusal.code, error: refusal.message });
          return fail(callback, grpc.status.PERMISSION_DENIED, refusal.message);
        }
        try {
          const certificatePem = props.issue(peer.cluster, call.request.public_key_pem, new Date(props.clock()));
          logger.info('agent certificate renewed', { cluster: peer.cluster });
          callback(null, { certificate_pem: certificatePem, not_after_ms: String(notAfterOf(certificatePem)) });
        } catch (err) {
          fail(callback, grpc.status.INVALID_ARGUMENT, (err as Error).message);
        }
      })();
    },

    Connect: (call: ConnectCall) => {
      const peer = peerCluster(call);
      if (!peer) {
        call.emit('error', { code: grpc.status.UNAUTHENTICATED, details: 'Connect needs the agent certificate issued at join' });
        return;
      }
      if (refusedWhileDraining(call, peer.cluster)) return;
      const id = ++sessions;
      let session: AgentSession | undefined;
      const helloTimer = setTimeout(() => {
        if (!session) call.emit('error', { code: grpc.status.DEADLINE_EXCEEDED, details: 'no hello within the time allowed' });
      }, props.helloTimeoutMs ?? 10_000);
      // A cluster may hold several sessions (hub: a rolling update), so a newer one no longer
      // ends an older one. A stream left half-open (its agent reconnected over a new connection,
      // or vanished) is ended here once it falls silent, restarted by every message it sends.
      let silence: NodeJS.Timeout | undefined;
      const end = (why: string) => {
        clearTimeout(helloTimer);
        clearTimeout(silence);
        if (!session) return;
        logger.info('agent disconnected', { cluster: session.cluster, session: id, why });
        hub.detach(session);
      };
      call.on('data', (message: AgentMessage) => {
        if (!session) {
          if (message.message !== 'hello') {
            call.emit('error', { code: grpc.status.FAILED_PRECONDITION, details: 'the first message must be a hello' });
            return;
          }
          if (message.hello.cluster !== peer.cluster) {
            logger.warn('agent refused: hello names another cluster', { certificate: peer.cluster, hello: message.hello.cluster });
            call.emit('error', { code: grpc.status.PERMISSION_DENIED, details: `this certificate is for cluster "${peer.cluster}", not "${message.hello.cluster}"` });
            return;
          }
          clearTimeout(helloTimer);
          // Connected before the drain began, hello after: refused as a new session is.
          if (refusedWhileDraining(call, peer.cluster)) return;
          session = new AgentSession(id, peer.cluster, message.hello, call, peer.certifiedAt);
          const s = session;
          hub
            .recordHello(s, peer.serial)
            .then(() => {
              if (!s.open) return;
              if (refusedWhileDraining(call, s.cluster)) return;
              hub.attach(s);
              s.welcome(props.idleTimeoutSeconds(s.cluster, s.labels), heartbeatSeconds);
              silence = setTimeout(() => end(`silent for ${silenceMs} ms`), silenceMs);
              silence.unref();
              logger.info('agent connected', { cluster: s.cluster, session: id, kubernetesVersion: s.hello.kubernetes_version, agentVersion: s.hello.agent_version });
            })
            .catch((err: Error) => {
              if (err instanceof AgentError) {
                logger.warn('agent refused: its cluster\'s registration does not admit it', { cluster: s.cluster, session: id, code: err.code, error: err.message });
                s.end(err);
                return;
              }
              logger.error('could not record an agent hello', { cluster: s.cluster, error: err.message });
              call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'kubegate could not record the cluster; reconnect later' });
            });
          return;
        }
        if (!session.open) return;
        silence?.refresh();
        if (message.message === 'heartbeat') {
          const at = props.clock();
          const s = session;
          hub.heartbeat(s.cluster, at);
          props.store.touchCluster(s.cluster, at).catch((err: Error) => {
            // The record is gone: the cluster was deregistered (a missed store notice would otherwise leave the agent connected).
            if (err instanceof StoreNotFoundError) hub.refuse(s, new ClusterNotRegisteredError(s.cluster));
            else logger.warn('could not record a heartbeat', { cluster: s.cluster, error: err.message });
          });
        } else if (message.message === 'result') {
          if (!session.result(message.result)) logger.debug('result for an unknown or timed-out command', { cluster: session.cluster, command: message.result.command_id });
        } else if (message.message === 'status') {
          const { ready, tunnel_node, leaving } = message.status;
          session.podStatus = { ready: Boolean(ready), tunnel_node: tunnel_node ?? '', leaving: Boolean(leaving) };
          logger.info('agent pod status', { cluster: session.cluster, session: id, ready: Boolean(ready), tunnelNode: tunnel_node, leaving: Boolean(leaving) });
        }
      });
      call.on('end', () => {
        end('agent ended the session');
        call.end();
      });
      call.on('cancelled', () => end('cancelled'));
      call.on('error', (err: Error) => end(`error: ${err.message}`));
      call.on('close', () => end('closed'));
    },
  });
}
