import * as path from 'node:path';
import { AGENT_SECRET_FILES } from '../../agent/protocol/identities';

type SecretFile = (typeof AGENT_SECRET_FILES)[keyof typeof AGENT_SECRET_FILES];

/**
 * An SDS reference to a secret the agent writes next to the in-cluster Envoy. Envoy watches the
 * directory, so a renewed certificate or a rotated token is picked up without a restart and
 * without the secret ever leaving the cluster.
 */
export function fileSecret(secretsDirectory: string, secret: SecretFile): object {
  return {
    name: secret.secret,
    sds_config: {
      path_config_source: {
        path: path.posix.join(secretsDirectory, secret.file),
        watched_directory: { path: secretsDirectory },
      },
      resource_api_version: 'V3',
    },
  };
}
