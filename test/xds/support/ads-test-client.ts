/**
 * A real gRPC (grpc-js, mTLS) ADS client that plays Envoy's part by hand: the tests write each
 * DiscoveryRequest themselves and read responses in order, so every protocol rule can be driven
 * exactly. Responses are queued as they arrive; next() takes the oldest one.
 */
import * as grpc from '@grpc/grpc-js';
import { envoyProtos, grpcService } from '../../../control-plane/proto/envoy-protos';
import { resourceTypeByUrl, type TypeUrl } from '../../../control-plane/xds/resource-types';
import type { KeyPairPem } from '../../../control-plane/pki/certificates';

export interface DiscoveryResponse {
  readonly version_info: string;
  readonly type_url: string;
  readonly nonce: string;
  readonly resources?: Array<{ type_url: string; value: Buffer }>;
}

export interface RequestOptions {
  readonly names?: readonly string[];
  /** The response being ACKed/NACKed: its nonce, and (for an ACK) its version. */
  readonly ackOf?: DiscoveryResponse;
  readonly nonce?: string;
  readonly version?: string;
  /** Makes the request a NACK. */
  readonly error?: string;
  /** Leaves node out of the request. */
  readonly noNode?: boolean;
}

export interface ClientCredentials {
  readonly caPem: string;
  /** Omit to connect without a client certificate. */
  readonly client?: KeyPairPem;
  /** The name the server's certificate must carry. @default 'localhost' */
  readonly serverName?: string;
}

type Ended = { kind: 'status'; status: grpc.StatusObject } | { kind: 'error'; error: grpc.ServiceError };

export class AdsTestClient {
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<object, DiscoveryResponse>;
  private readonly queue: DiscoveryResponse[] = [];
  private waiter?: () => void;
  private endedWith?: Ended;
  readonly ended: Promise<Ended>;

  constructor(port: number, credentials: ClientCredentials, readonly nodeId: string) {
    const Ads = grpcService('envoy.service.discovery.v3.AggregatedDiscoveryService');
    const creds = credentials.client
      ? grpc.credentials.createSsl(Buffer.from(credentials.caPem), Buffer.from(credentials.client.keyPem), Buffer.from(credentials.client.certPem))
      : grpc.credentials.createSsl(Buffer.from(credentials.caPem));
    // The server certificate names localhost; dialling the IP avoids resolver surprises (::1).
    this.client = new Ads(`127.0.0.1:${port}`, creds, { 'grpc.ssl_target_name_override': credentials.serverName ?? 'localhost' });
    this.call = (this.client as unknown as { StreamAggregatedResources(): grpc.ClientDuplexStream<object, DiscoveryResponse> }).StreamAggregatedResources();
    this.call.on('data', (response: DiscoveryResponse) => {
      this.queue.push(response);
      this.waiter?.();
    });
    this.ended = new Promise<Ended>((resolve) => {
      this.call.on('error', (error: grpc.ServiceError) => {
        this.endedWith ??= { kind: 'error', error };
        resolve(this.endedWith);
        this.waiter?.();
      });
      this.call.on('status', (status: grpc.StatusObject) => {
        if (status.code === grpc.status.OK) {
          this.endedWith ??= { kind: 'status', status };
          resolve(this.endedWith);
          this.waiter?.();
        }
      });
    });
  }

  request(typeUrl: TypeUrl | string, options: RequestOptions = {}): void {
    const request: Record<string, unknown> = {
      type_url: typeUrl,
      resource_names: [...(options.names ?? [])],
      version_info: options.version ?? (options.error ? '' : options.ackOf?.version_info ?? ''),
      response_nonce: options.nonce ?? options.ackOf?.nonce ?? '',
    };
    if (!options.noNode) request.node = { id: this.nodeId, cluster: 'test' };
    if (options.error) request.error_detail = { code: 3, message: options.error };
    this.call.write(request);
  }

  /** ACKs a response, keeping the given subscription. */
  ack(response: DiscoveryResponse, names?: readonly string[]): void {
    this.request(response.type_url, { ackOf: response, names });
  }

  nack(response: DiscoveryResponse, error: string, acceptedVersion = '', names?: readonly string[]): void {
    this.request(response.type_url, { nonce: response.nonce, version: acceptedVersion, error, names });
  }

  /** The next response; fails after timeoutMs or if the stream ends first. */
  async next(timeoutMs = 5000): Promise<DiscoveryResponse> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      if (this.endedWith) throw new Error(`stream ended before a response arrived: ${describeEnd(this.endedWith)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no DiscoveryResponse within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
    return this.queue.shift()!;
  }

  /** The next response, which must be of this type. */
  async nextOf(typeUrl: string, timeoutMs = 5000): Promise<DiscoveryResponse> {
    const response = await this.next(timeoutMs);
    if (response.type_url !== typeUrl) {
      throw new Error(`expected a ${short(typeUrl)} response, got ${short(response.type_url)} (version ${response.version_info}, nonce ${response.nonce})`);
    }
    return response;
  }

  /** Responses received and not yet taken. */
  pending(): readonly DiscoveryResponse[] {
    return [...this.queue];
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

/** Decodes a response's resources and returns their names, in order. */
export function resourceNames(response: DiscoveryResponse): string[] {
  return decodeResources(response).map((r) => String(r.name ?? r.cluster_name));
}

export function decodeResources(response: DiscoveryResponse): Array<Record<string, unknown>> {
  return (response.resources ?? []).map((any) => {
    const type = resourceTypeByUrl(any.type_url);
    if (!type) throw new Error(`unexpected resource type ${any.type_url}`);
    const message = envoyProtos().lookupType(type.messageName);
    return message.toObject(message.decode(any.value), { longs: String, enums: String }) as Record<string, unknown>;
  });
}

function short(typeUrl: string): string {
  return resourceTypeByUrl(typeUrl)?.shortName ?? typeUrl;
}

function describeEnd(ended: Ended): string {
  return ended.kind === 'error' ? `${grpc.status[ended.error.code]}: ${ended.error.details}` : 'OK';
}
