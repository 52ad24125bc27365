/**
 * A unified diff of two texts by lines, for showing what `policy apply` would change in each
 * file. Longest-common-subsequence based; policy files are small, and for very large pairs
 * (where the quadratic table would cost too much) the diff degrades to "all old lines out,
 * all new lines in", which is still correct, only less precise.
 */

/** Above this many table cells the diff replaces the whole file instead. */
const MAX_CELLS = 4_000_000;
const CONTEXT = 3;

type Op = { readonly kind: ' ' | '-' | '+'; readonly line: string };

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function diffOps(a: readonly string[], b: readonly string[]): Op[] {
  // Common prefix and suffix first: most edits touch a few lines in the middle.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const head: Op[] = a.slice(0, start).map((line) => ({ kind: ' ', line }));
  const tail: Op[] = a.slice(endA).map((line) => ({ kind: ' ', line }));
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const n = midA.length;
  const m = midB.length;
  let middle: Op[];
  if ((n + 1) * (m + 1) > MAX_CELLS) {
    middle = [...midA.map((line): Op => ({ kind: '-', line })), ...midB.map((line): Op => ({ kind: '+', line }))];
  } else {
    // lcs[i][j] = length of the LCS of midA[i..] and midB[j..], in one flat array.
    const width = m + 1;
    const lcs = new Uint32Array((n + 1) * width);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * width + j] = midA[i] === midB[j] ? lcs[(i + 1) * width + j + 1]! + 1 : Math.max(lcs[(i + 1) * width + j]!, lcs[i * width + j + 1]!);
      }
    }
    middle = [];
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && midA[i] === midB[j]) {
        middle.push({ kind: ' ', line: midA[i]! });
        i++;
        j++;
      } else if (j < m && (i === n || lcs[i * width + j + 1]! >= lcs[(i + 1) * width + j]!)) {
        middle.push({ kind: '+', line: midB[j]! });
        j++;
      } else {
        middle.push({ kind: '-', line: midA[i]! });
        i++;
      }
    }
    // Within a run of changes show removals before additions, as diff(1) does.
    middle = groupChanges(middle);
  }
  return [...head, ...middle, ...tail];
}

function groupChanges(ops: readonly Op[]): Op[] {
  const out: Op[] = [];
  let removed: Op[] = [];
  let added: Op[] = [];
  const flush = () => {
    out.push(...removed, ...added);
    removed = [];
    added = [];
  };
  for (const op of ops) {
    if (op.kind === '-') removed.push(op);
    else if (op.kind === '+') added.push(op);
    else {
      flush();
      out.push(op);
    }
  }
  flush();
  return out;
}

/**
 * `--- a/<name>` / `+++ b/<name>` and hunks with three lines of context; '' when equal.
 * `oldText` or `newText` null means the file is added or removed (shown against /dev/null).
 */
export function unifiedDiff(name: string, oldText: string | null, newText: string | null): string {
  const a = splitLines(oldText ?? '');
  const b = splitLines(newText ?? '');
  const ops = diffOps(a, b);
  if (ops.every((o) => o.kind === ' ') && oldText !== null && newText !== null) return '';
  const out = [oldText === null ? '--- /dev/null' : `--- a/${name}`, newText === null ? '+++ /dev/null' : `+++ b/${name}`];
  // Positions (1-based) of each op in the old and new file.
  const changed = ops.map((o) => o.kind !== ' ');
  let k = 0;
  let oldLine = 1;
  let newLine = 1;
  const positions = ops.map((o) => {
    const p = { oldLine, newLine };
    if (o.kind !== '+') oldLine++;
    if (o.kind !== '-') newLine++;
    return p;
  });
  while (k < ops.length) {
    if (!changed[k]) {
      k++;
      continue;
    }
    // A hunk: from CONTEXT before the first change to CONTEXT after the last change that is
    // within 2 * CONTEXT of the next.
    const first = Math.max(0, k - CONTEXT);
    let last = k;
    for (let j = k; j < ops.length; j++) {
      if (changed[j]) last = j;
      else if (j - last > 2 * CONTEXT) break;
    }
    const end = Math.min(ops.length, last + CONTEXT + 1);
    const hunk = ops.slice(first, end);
    const oldCount = hunk.filter((o) => o.kind !== '+').length;
    const newCount = hunk.filter((o) => o.kind !== '-').length;
    const oldStart = oldCount === 0 ? positions[first]!.oldLine - 1 : positions[first]!.oldLine;
    const newStart = newCount === 0 ? positions[first]!.newLine - 1 : positions[first]!.newLine;
    out.push(`@@ -${oldStart},${oldCount} +${newStart},${newCount} @@`);
    for (const o of hunk) out.push(`${o.kind}${o.line}`);
    k = end;
  }
  return out.join('\n') + '\n';
}
