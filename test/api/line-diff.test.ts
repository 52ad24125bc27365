/**
 * The unified diff `policy diff` shows: applying its hunks to the old text must give the new
 * text exactly, for any pair of texts, and hunks carry at most three lines of context.
 */
import fc from 'fast-check';
import { unifiedDiff } from '../../control-plane/api/line-diff';

/** Applies a unified diff produced by unifiedDiff to `old`, checking every hunk header. */
function applyDiff(old: string, diff: string): string {
  const oldLines = old === '' ? [] : old.replace(/\n$/, '').split('\n');
  const lines = diff.replace(/\n$/, '').split('\n').slice(2);
  const out: string[] = [];
  let pos = 0; // next old line (0-based) not yet copied
  let i = 0;
  while (i < lines.length) {
    const m = /^@@ -(\d+),(\d+) \+(\d+),(\d+) @@$/.exec(lines[i]!);
    if (!m) throw new Error(`expected a hunk header, got ${lines[i]}`);
    const [oldStart, oldCount, , newCount] = m.slice(1).map(Number) as [number, number, number, number];
    const start = oldCount === 0 ? oldStart : oldStart - 1;
    out.push(...oldLines.slice(pos, start));
    pos = start;
    i++;
    let seenOld = 0;
    let seenNew = 0;
    while (i < lines.length && !lines[i]!.startsWith('@@')) {
      const [mark, text] = [lines[i]![0], lines[i]!.slice(1)];
      if (mark === ' ' || mark === '-') {
        if (oldLines[pos] !== text) throw new Error(`line ${pos + 1} of the old text is not ${JSON.stringify(text)}`);
        pos++;
        seenOld++;
      }
      if (mark === ' ' || mark === '+') {
        out.push(text);
        seenNew++;
      }
      i++;
    }
    if (seenOld !== oldCount || seenNew !== newCount) throw new Error(`hunk header ${m[0]} does not match its lines`);
  }
  out.push(...oldLines.slice(pos));
  return out.length === 0 ? '' : out.join('\n') + '\n';
}

const text = fc.array(fc.constantFrom('a', 'b', 'c', 'kind: AccessPolicy', '  name: x', ''), { maxLength: 40 }).map((lines) => (lines.length ? lines.join('\n') + '\n' : ''));

describe('unifiedDiff', () => {
  test('applying the diff to the old text gives the new text', () => {
    fc.assert(
      fc.property(text, text, (a, b) => {
        const diff = unifiedDiff('f.yaml', a, b);
        if (a === b) return diff === '';
        return applyDiff(a, diff) === b;
      }),
      { numRuns: 500 },
    );
  });

  test('changes far apart get separate hunks with three lines of context', () => {
    const old = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`);
    const next = [...old];
    next[1] = 'changed 2';
    next[17] = 'changed 18';
    const diff = unifiedDiff('f.yaml', old.join('\n') + '\n', next.join('\n') + '\n');
    expect(diff).toBe(
      [
        '--- a/f.yaml',
        '+++ b/f.yaml',
        '@@ -1,5 +1,5 @@',
        ' line 1',
        '-line 2',
        '+changed 2',
        ' line 3',
        ' line 4',
        ' line 5',
        '@@ -15,6 +15,6 @@',
        ' line 15',
        ' line 16',
        ' line 17',
        '-line 18',
        '+changed 18',
        ' line 19',
        ' line 20',
        '',
      ].join('\n'),
    );
  });

  test('added and removed files are shown against /dev/null', () => {
    expect(unifiedDiff('n.yaml', null, 'a\nb\n')).toBe('--- /dev/null\n+++ b/n.yaml\n@@ -0,0 +1,2 @@\n+a\n+b\n');
    expect(unifiedDiff('o.yaml', 'a\n', null)).toBe('--- a/o.yaml\n+++ /dev/null\n@@ -1,1 +0,0 @@\n-a\n');
  });
});
