/**
 * Why: the end-to-end tests require kubectl's stderr to be empty, so that any warning or error
 * kubegate causes shows. kubectl before 1.34 prints one error line by itself now and then on a
 * WebSocket exec or attach, with kubegate or without it; these helpers let a test tell that one
 * line apart from everything else, and only on a kubectl that can print it.
 *
 * The line is `websocket.go:296] Unknown stream id 1, discarding message`. Its cause is in
 * client-go (k8s.io/client-go tools/remotecommand/websocket.go, v0.32.4 and v0.33.x):
 * `StreamWithContext` starts the goroutine that reads frames (`readDemuxLoop`) and only then
 * creates its streams (`streamer.stream(creator)`); a frame read before its stream exists is
 * dropped with that line. kube-apiserver (k8s.io/apiserver pkg/util/proxy/websocket.go,
 * `createWebSocketStreams`) writes an empty frame on stdout, stream 1, right after the 101 "to
 * notify the client the connection is established", before it has even dialled the kubelet. So
 * the frame kubectl drops when it loses the race is that empty one: no byte of output. client-go
 * v0.34.0 (kubectl 1.34) starts the read loop only once the streams exist.
 *
 * What a test still checks: stdout byte for byte (a frame with output that anyone dropped shows
 * there), and that stderr holds nothing else: any other line, another stream id, or the line
 * twice (which takes a frame after the empty one) fails, as does the line from kubectl 1.34+.
 */
import { runCommand } from './run-command';

/** The first kubectl minor version whose client-go creates its streams before reading frames. */
export const FIRST_KUBECTL_MINOR_WITHOUT_STREAM_RACE = 34;

/** klog's header, then client-go's message for the empty frame kube-apiserver sends on stdout first. */
const DROPPED_ESTABLISHED_FRAME = /^E\d{4} \d{2}:\d{2}:\d{2}\.\d{6} +\d+ websocket\.go:\d+\] Unknown stream id 1, discarding message\n/m;

/** The kubectl binary's client minor version (`kubectl version --client`). */
export async function kubectlClientMinor(kubectl: string): Promise<number> {
  const r = await runCommand(kubectl, ['version', '--client', '-o', 'json']);
  if (r.code !== 0) throw new Error(`kubectl version --client failed: ${r.stderr}`);
  const minor = Number.parseInt((JSON.parse(r.stdout) as { clientVersion: { minor: string } }).clientVersion.minor, 10);
  if (!Number.isInteger(minor)) throw new Error(`kubectl version --client gave no minor version: ${r.stdout}`);
  return minor;
}

/**
 * A WebSocket exec/attach session's stderr without the one line an older kubectl prints when it
 * drops kube-apiserver's empty "connection established" frame (see above). Only one such line
 * is taken out, and only for kubectl before 1.34; whatever is left is for the test to judge.
 */
export function stderrBesidesClientStreamRace(stderr: string, kubectlMinor: number): string {
  if (kubectlMinor >= FIRST_KUBECTL_MINOR_WITHOUT_STREAM_RACE) return stderr;
  return stderr.replace(DROPPED_ESTABLISHED_FRAME, '');
}
