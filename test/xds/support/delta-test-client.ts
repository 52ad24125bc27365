/**
 * A real gRPC (grpc-js, mTLS) client of DeltaAggregatedResources that plays Envoy's part by hand:
 * each test writes its DeltaDiscoveryRequests itself and reads responses in order.
 */
import * as grpc from '@grpc/grpc-js';
import { grpcService } from '../../../control-plane/proto/envoy-protos';
import type { TypeUrl } from '../../../control-plane/xds/resource-types';
import type { KeyPairPem } from '../../../control-plane/pki/certificates';
import { decodeResources } from './ads-test-client';

export interface DeltaResponse {
  readonly system_version_info: string;
  readonly type_url: string;
  readonly nonce: string;
  readonly resources?: Array<{ name: string; version: string; resource: { type_url: string; value: Buffer } }>;
  readonly removed_resources?: string[];
}

export interface DeltaRequestOptions {
  readonly subscribe?: readonly string[];
  readonly unsubscribe?: readonly string[];
  readonly initialVersions?: Readonly<Record<string, string>>;
  /** ACKs (or, with error, NACKs) the response with this nonce. */
  readonly nonce?: string;
  readonly error?: string;
  readonly noNode?: boolean;
}

export class DeltaTestClient {
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<object, DeltaResponse>;
  private readonly queue: DeltaResponse[] = [];
  private waiter?: () => void;
  private endedWith?: grpc.ServiceError | 'ok';
  readonly ended: Promise<grpc.ServiceError | 'ok'>;

  constructor(port: number, credentials: { caPem: string; client: KeyPairPem }, readonly nodeId: string) {
    const Ads = grpcService('envoy.service.discovery.v3.AggregatedDiscoveryService');
    const creds = grpc.credentials.createSsl(Buffer.from(credentials.caPem), Buffer.from(credentials.client.keyPem), Buffer.from(credentials.client.certPem));
    this.client = new Ads(`127.0.0.1:${port}`, creds, { 'grpc.ssl_target_name_override': 'localhost' });
    this.call = (this.client as unknown as { DeltaAggregatedResources(): grpc.ClientDuplexStream<object, DeltaResponse> }).DeltaAggregatedResources();
    this.call.on('data', (response: DeltaResponse) => {
      this.queue.push(response);
      this.waiter?.();
    });
    this.ended = new Promise((resolve) => {
      this.call.on('error', (error: grpc.ServiceError) => {
        this.endedWith ??= error;
        resolve(this.endedWith);
        this.waiter?.();
      });
      this.call.on('status', (status: grpc.StatusObject) => {
        if (status.code !== grpc.status.OK) return;
        this.endedWith ??= 'ok';
        resolve(this.endedWith);
        this.waiter?.();
      });
    });
  }

  request(typeUrl: TypeUrl | string, options: DeltaRequestOptions = {}): void {
    const request: Record<string, unknown> = {
      type_url: typeUrl,
      resource_names_subscribe: [...(options.subscribe ?? [])],
      resource_names_unsubscribe: [...(options.unsubscribe ?? [])],
      initial_resource_versions: { ...(options.initialVersions ?? {}) },
      response_nonce: options.nonce ?? '',
    };
    if (!options.noNode) request.node = { id: this.nodeId, cluster: 'test' };
    if (options.error) request.error_detail = { code: 3, message: options.error };
    this.call.write(request);
  }

  ack(response: DeltaResponse, changes: Omit<DeltaRequestOptions, 'nonce' | 'error'> = {}): void {
    this.request(response.type_url, { ...changes, nonce: response.nonce });
  }

  nack(response: DeltaResponse, error: string): void {
    this.request(response.type_url, { nonce: response.nonce, error });
  }

  async next(timeoutMs = 5000): Promise<DeltaResponse> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      if (this.endedWith) throw new Error(`stream ended before a response arrived: ${this.endedWith === 'ok' ? 'OK' : `${grpc.status[this.endedWith.code]}: ${this.endedWith.details}`}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no DeltaDiscoveryResponse within ${timeoutMs} ms`);
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

  async nextOf(typeUrl: string, timeoutMs = 5000): Promise<DeltaResponse> {
    const response = await this.next(timeoutMs);
    if (response.type_url !== typeUrl) throw new Error(`expected a response of ${typeUrl}, got ${response.type_url} (nonce ${response.nonce})`);
    return response;
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

/** name -> version of a delta response's resources. */
export function sentVersions(response: DeltaResponse): Record<string, string> {
  return Object.fromEntries((response.resources ?? []).map((r) => [r.name, r.version]));
}

/** The decoded resources of a delta response, checking each one's name matches its content. */
export function decodeDelta(response: DeltaResponse): Array<Record<string, unknown>> {
  const decoded = decodeResources({ version_info: '', type_url: response.type_url, nonce: response.nonce, resources: (response.resources ?? []).map((r) => r.resource) });
  decoded.forEach((resource, i) => {
    const name = String(resource.name ?? resource.cluster_name);
    if (name !== response.resources![i]!.name) throw new Error(`resource named ${response.resources![i]!.name} carries ${name}`);
  });
  return decoded;
}
