/**
 * The pod network of one real node: the CNI bridge plugin puts every pod on a bridge inside the
 * node's network namespace, host-local hands out addresses of the node's own /24 (its state
 * under the node's directory, not /var/lib/cni), the bridge is the pods' gateway and masquerades
 * what leaves the pod range, and portmap serves hostPort. Pods of other nodes are reached
 * through the host, which routes each node's /24 to that node.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface CniConfigProps {
  /** Where containerd reads the config from (its cni.conf_dir). */
  readonly configDir: string;
  /** host-local's address bookkeeping. */
  readonly ipamDir: string;
  /** The node's pod range, e.g. 10.216.7.0/24. */
  readonly podCidr: string;
  /** Names the network; libcni's result cache files carry it. */
  readonly networkName: string;
}

/** The bridge inside every node's namespace (the same name in each: they never meet). */
export const NODE_BRIDGE = 'kgbr0';

export function writeCniConfig(props: CniConfigProps): string {
  fs.mkdirSync(props.configDir, { recursive: true });
  fs.mkdirSync(props.ipamDir, { recursive: true });
  const file = path.join(props.configDir, '10-kubegate-bridge.conflist');
  const config = {
    cniVersion: '0.4.0',
    name: props.networkName,
    plugins: [
      {
        type: 'bridge',
        bridge: NODE_BRIDGE,
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: props.podCidr }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: props.ipamDir },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
  fs.writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
  return file;
}
