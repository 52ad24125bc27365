/** The audit table's rows: a request's two completions (the edge's and its cluster's) are told apart. */
import { auditTableRow } from '../../control-plane/cli/commands/audit-table';
import { chainOf, completionEvent } from '../audit/audit-fixtures';

test("a cluster-reported record's stage says who reported it; the edge's stays as it was", () => {
  const [edge, cluster] = chainOf([completionEvent(), completionEvent({ reportedBy: 'cluster' })]);
  expect(auditTableRow(edge!)[3]).toBe('completion');
  expect(auditTableRow(cluster!)[3]).toBe('completion (cluster)');
});
