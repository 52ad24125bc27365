/**
 * A record per running real node, so that what a SIGKILLed test run leaves behind (its node's
 * processes, mounts, cgroups and namespace, and the host sysctls its kubelet changed) can be
 * found and undone by the next run: the exit hook cannot run after SIGKILL. One JSON file per
 * node in /run/kubegate-real-nodes (tmpfs: after a reboot there is nothing to undo, and no
 * record either), removed with the node; the directory goes when it is empty.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ownerTag } from '../netns/site-netns-name';

export const RECORDS_DIR = '/run/kubegate-real-nodes';

export interface NodeRecord {
  readonly node: string;
  /** `<pid>-<start time>` of the process that runs the node. */
  readonly owner: string;
  readonly stateDir: string;
  readonly netns?: string;
  readonly hostInterface?: string;
  readonly cgroupRoot?: string;
  /** The host's kubelet sysctls before this process's first node started. */
  readonly sysctlsBefore: Readonly<Record<string, string>>;
  /** Entries of the watched host directories before that (null: the directory did not exist). */
  readonly dirsBefore: Readonly<Record<string, readonly string[] | null>>;
}

const fileOf = (r: Pick<NodeRecord, 'owner' | 'node'>) => path.join(RECORDS_DIR, `${r.owner}-${r.node}.json`);

export function writeNodeRecord(record: NodeRecord): void {
  fs.mkdirSync(RECORDS_DIR, { recursive: true, mode: 0o700 });
  const file = fileOf(record);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(record));
  fs.renameSync(`${file}.tmp`, file);
}

export function removeNodeRecord(record: Pick<NodeRecord, 'owner' | 'node'>): void {
  fs.rmSync(fileOf(record), { force: true });
  try {
    fs.rmdirSync(RECORDS_DIR);
  } catch {
    // not empty (other nodes), or already gone
  }
}

export function readNodeRecords(): NodeRecord[] {
  let files: string[];
  try {
    files = fs.readdirSync(RECORDS_DIR).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const records: NodeRecord[] = [];
  for (const f of files) {
    try {
      records.push(JSON.parse(fs.readFileSync(path.join(RECORDS_DIR, f), 'utf8')) as NodeRecord);
    } catch {
      // half-written by a process killed mid-write: the .tmp never got renamed, so this is rare; skip it
    }
  }
  return records;
}

/** True when the process that wrote the record is gone (its pid is dead or belongs to another process now). */
export function isStale(record: NodeRecord): boolean {
  const pid = Number(record.owner.split('-')[0]);
  return !Number.isInteger(pid) || ownerTag(pid) !== record.owner;
}

/** This process's owner tag, as records carry it. */
export function currentOwner(): string {
  return ownerTag();
}
