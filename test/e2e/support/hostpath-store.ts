/**
 * A volume for the hub's SQLite store on a test cluster without a provisioner: a StorageClass
 * that provisions nothing and one hostPath PersistentVolume of it, which the controller's
 * claim binds to once its pod is scheduled. The directory is handed to the images' user
 * (65532): the kubelet gives a hostPath volume no fsGroup.
 */
import * as fs from 'node:fs';
import { stringify } from 'yaml';

export const HOSTPATH_STORAGE_CLASS = 'kubegate-test-local';

/** Makes `volumeDir` and returns the manifests to apply before the hub. */
export function hostPathStoreManifests(volumeDir: string): string {
  fs.mkdirSync(volumeDir, { mode: 0o770 });
  fs.chownSync(volumeDir, 65532, 65532);
  return [
    { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: HOSTPATH_STORAGE_CLASS }, provisioner: 'kubernetes.io/no-provisioner', volumeBindingMode: 'WaitForFirstConsumer' },
    {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'kubegate-store' },
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], storageClassName: HOSTPATH_STORAGE_CLASS, hostPath: { path: volumeDir, type: 'Directory' } },
    },
  ]
    .map((o) => stringify(o))
    .join('---\n');
}
