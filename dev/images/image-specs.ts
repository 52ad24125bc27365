/**
 * What each kubegate image holds. Three images serve the four roles: `controller` (the control
 * plane), `agent` (the relay agent), and `envoy` for both the edge and the in-cluster Envoy
 * (the same binary; only the bootstrap each is started with differs). The two Node.js images
 * share their first layer (the runtime), so a node that pulls both stores it once; each has
 * only the npm packages its own program loads, since member clusters run the agent alone.
 */
import * as path from 'node:path';
import type { Rootfs } from './rootfs';
import { nodeModulesClosure } from './node-modules-closure';

export interface BuildContext {
  /** The checkout, built (dist/ present). */
  readonly projectRoot: string;
  /** The Node.js program of this machine, which the images run. */
  readonly node: string;
  /** The Envoy binary of the toolchain. */
  readonly envoy: string;
}

export interface ImageSpec {
  readonly name: 'controller' | 'agent' | 'envoy';
  readonly description: string;
  readonly entrypoint: readonly string[];
  /** One function per layer, bottom first; each fills an empty root filesystem. */
  readonly layers: ReadonlyArray<(rootfs: Rootfs, ctx: BuildContext) => void>;
}

/** Where the app lives in the Node.js images: the layout projectRoot() finds from dist/. */
export const APP_DIR = '/app';
const NODE = '/usr/local/bin/node';

/**
 * The npm packages the control plane loads at run time (no dev tools). The construct libraries
 * are among them: the hub renders each cluster's agent manifest from KubegateAgent when its
 * one-time install link is fetched.
 */
export const CONTROLLER_PACKAGES = ['@grpc/grpc-js', '@grpc/grpc-js-xds', '@grpc/proto-loader', 'ajv', 'better-sqlite3', 'cdk8s', 'cdk8s-plus-27', 'constructs', 'fastify', 'jose', 'node-forge', 'pg', 'prom-client', 'protobufjs', 'yaml'];
/** The agent's: its gRPC session, its flag checks, and the policy model's grant type it shares. */
export const AGENT_PACKAGES = ['@grpc/grpc-js', '@grpc/proto-loader', 'ajv', 'yaml'];

const runtimeLayer = (rootfs: Rootfs, ctx: BuildContext) => rootfs.base().copyProgram(ctx.node, NODE);

const packagesLayer = (roots: readonly string[]) => (rootfs: Rootfs, ctx: BuildContext) => {
  for (const dir of nodeModulesClosure(ctx.projectRoot, roots)) rootfs.copyTree(path.join(ctx.projectRoot, dir), `${APP_DIR}/${dir}`, notBuildLeftovers);
  rootfs.copyFile(path.join(ctx.projectRoot, 'package.json'), `${APP_DIR}/package.json`);
};

/** Compiled code of these folders (no source maps, no tests), and the .proto files it loads. */
const appLayer = (folders: readonly string[]) => (rootfs: Rootfs, ctx: BuildContext) => {
  for (const folder of folders) rootfs.copyTree(path.join(ctx.projectRoot, 'dist', folder), `${APP_DIR}/dist/${folder}`, (rel) => !rel.endsWith('.map'));
  rootfs.copyFile(path.join(ctx.projectRoot, 'agent', 'protocol', 'agent.proto'), `${APP_DIR}/agent/protocol/agent.proto`);
  rootfs.copyTree(path.join(ctx.projectRoot, 'control-plane', 'proto', 'envoy-extensions'), `${APP_DIR}/control-plane/proto/envoy-extensions`);
};

/** A native module's build directory keeps objects and intermediate files the program never loads. */
const notBuildLeftovers = (rel: string) => !/(^|\/)build\/Release\/(obj|\.deps|obj\.target)(\/|$)/.test(rel) && !/(^|\/)deps\/sqlite3(\/|$)/.test(rel) && !/(^|\/)src\/.*\.(cc|cpp|h)$/.test(rel);

export const IMAGE_SPECS: readonly ImageSpec[] = [
  {
    name: 'controller',
    description: 'kubegate control plane: xDS, ext_authz, the admin API, the agent port',
    entrypoint: [NODE, `${APP_DIR}/dist/control-plane/server/main.js`],
    layers: [runtimeLayer, packagesLayer(CONTROLLER_PACKAGES), appLayer(['control-plane', 'policies', 'agent', 'constructs'])],
  },
  {
    name: 'agent',
    description: 'kubegate relay agent: joins the hub, keeps per-user ServiceAccounts, feeds the in-cluster Envoy',
    entrypoint: [NODE, `${APP_DIR}/dist/agent/main.js`],
    layers: [runtimeLayer, packagesLayer(AGENT_PACKAGES), appLayer(['agent', 'policies'])],
  },
  {
    name: 'envoy',
    description: 'Envoy for the edge and the in-cluster proxy (the bootstrap each is given differs)',
    entrypoint: ['/usr/local/bin/envoy'],
    layers: [(rootfs, ctx) => rootfs.base().copyProgram(ctx.envoy, '/usr/local/bin/envoy')],
  },
];
