/**
 * Fills a namespace with many ConfigMaps quickly: POSTs from one admin client, a bounded number
 * at a time over kept-alive connections. A kubectl process per object would spend minutes in
 * process start-ups on a small machine, and one huge `kubectl apply` is a single slow stream.
 */
import type { KubeClient } from '../agent/kubernetes/kube-client';
import { inParallel } from './bench-support';

export interface BulkConfigMaps {
  readonly namespace: string;
  readonly count: number;
  /** Size of each ConfigMap's one data value. */
  readonly bytesEach: number;
  /** Requests in flight; the admin client keeps 16 connections. @default 16 */
  readonly concurrency?: number;
  readonly onProgress?: (created: number) => void;
}

export const configMapName = (i: number) => `cm-${String(i).padStart(5, '0')}`;

export async function createConfigMaps(client: KubeClient, spec: BulkConfigMaps): Promise<void> {
  // One repeated character: nothing on the path compresses (the load generator asks for no
  // gzip), so the content does not matter, only its size.
  const value = 'x'.repeat(spec.bytesEach);
  let created = 0;
  await inParallel(spec.count, spec.concurrency ?? 16, async (i) => {
    await client.create(`/api/v1/namespaces/${spec.namespace}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: configMapName(i), labels: { 'app.kubernetes.io/part-of': 'kubegate-bench' } },
      data: { value },
    });
    created++;
    if (created % 500 === 0 || created === spec.count) spec.onProgress?.(created);
  });
}
