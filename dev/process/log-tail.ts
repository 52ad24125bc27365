/**
 * The last lines of a process log, for error messages: when etcd or kube-apiserver dies the
 * reason is almost always in its final few lines, so the error should carry them.
 */
import * as fs from 'node:fs';

/** How much of the file end is read; enough for ~20 lines of the JSON logs etcd writes. */
const TAIL_BYTES = 64 * 1024;

/** The last `lines` lines of the file, or '' if it cannot be read. Never throws. */
export function readLogTail(file: string, lines = 20): string {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const size = fs.fstatSync(fd).size;
    const length = Math.min(size, TAIL_BYTES);
    const buf = Buffer.alloc(length);
    fs.readSync(fd, buf, 0, length, size - length);
    const all = buf.toString('utf8').split('\n');
    // Reading from the middle of the file leaves a partial first line; drop it.
    if (size > length) all.shift();
    while (all.length > 0 && all[all.length - 1] === '') all.pop();
    return all.slice(-lines).join('\n');
  } catch {
    // The tail decorates an error that is already being raised; it must not replace it.
    return '';
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
