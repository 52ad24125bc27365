/**
 * The workload the real-node tests run: kubegate's agent image, whose Node.js runs a small HTTP
 * server of the tests' own (the image's real entrypoint needs a hub; the harness is what is
 * under test here, and the hub tests deploy the programs themselves). The server answers
 * /healthz and says which pod served; a Service named `web` leads to it.
 */

export const WEB_PORT = 8080;

/** A Node.js program (for `node -e`) that GETs `url` and prints `<status> <body>` or `error <message>`. */
export const HTTP_GET = (url: string) =>
  `require('node:http').get(${JSON.stringify(url)}, (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => { process.stdout.write(r.statusCode + ' ' + b); }); }).on('error', (e) => { process.stdout.write('error ' + e.message); });`;

const SERVER = `const http = require('node:http');
http.createServer((req, res) => {
  if (req.url === '/healthz') { res.end('ok'); return; }
  res.end(JSON.stringify({ pod: require('node:os').hostname(), agentInImage: require('node:fs').existsSync('/app/dist/agent/main.js') }));
}).listen(${WEB_PORT}, () => console.log('test server serving on ${WEB_PORT}'));
process.on('SIGTERM', () => process.exit(0));`;

export interface WebOptions {
  /** @default 1 */
  readonly replicas?: number;
  /** Put each replica on a node of its own (required anti-affinity on the hostname). @default false */
  readonly onePerNode?: boolean;
}

/** Namespace, Deployment `web` and Service `web` (port 80), as one JSON document per line for `kubectl apply -f -`. */
export function webManifests(namespace: string, image: string, options: WebOptions = {}): string {
  const labels = { app: 'web' };
  const docs = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace },
      spec: {
        replicas: options.replicas ?? 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            securityContext: { runAsNonRoot: true },
            ...(options.onePerNode ? { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: labels }, topologyKey: 'kubernetes.io/hostname' }] } } } : {}),
            containers: [
              {
                name: 'web',
                image,
                imagePullPolicy: 'IfNotPresent',
                command: ['/usr/local/bin/node', '-e', SERVER],
                ports: [{ name: 'http', containerPort: WEB_PORT }],
                readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 2 },
                securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
              },
            ],
          },
        },
      },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace }, spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } },
  ];
  return docs.map((d) => JSON.stringify(d)).join('\n');
}
