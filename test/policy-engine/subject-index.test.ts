/** The subject index: a request sees exactly the documents naming its user or groups, once each. */
import { compileSubjects, SubjectIndex } from '../../control-plane/policy-engine/subject-index';

describe('SubjectIndex', () => {
  const entries = [
    { entry: { index: 0, name: 'by-user' }, subjects: { users: ['alice'] } },
    { entry: { index: 1, name: 'by-group' }, subjects: { groups: ['devs'] } },
    { entry: { index: 2, name: 'by-both' }, subjects: { users: ['alice'], groups: ['devs', 'ops'] } },
    { entry: { index: 3, name: 'ops' }, subjects: { groups: ['ops'] } },
    { entry: { index: 4, name: 'group-named-alice' }, subjects: { groups: ['alice'] } },
  ];
  const index = new SubjectIndex(entries.map(({ entry, subjects }) => ({ entry, subjects })));
  const names = (user: string, groups: string[]) => index.candidates({ user, groups }).map((e) => e.name);

  test.each<[string, string[], string[]]>([
    ['alice', [], ['by-user', 'by-both']],
    ['bob', ['devs'], ['by-group', 'by-both']],
    ['alice', ['ops', 'devs'], ['by-user', 'by-group', 'by-both', 'ops']],
    ['alice', ['devs', 'devs'], ['by-user', 'by-group', 'by-both']],
    ['bob', ['alice'], ['group-named-alice']],
    ['devs', [], []],
    ['nobody', ['nothing'], []],
  ])('%s in %j sees %j, once each, in document order', (user, groups, expected) => {
    expect(names(user, groups)).toEqual(expected);
  });

  test('repeated lookups stay correct (the dedup marks are per lookup)', () => {
    for (let i = 0; i < 1000; i++) expect(names('alice', ['ops', 'devs'])).toHaveLength(4);
  });

  test('compileSubjects matches by user or by any group, never across the two', () => {
    const m = compileSubjects({ users: ['alice'], groups: ['devs'] });
    expect(m.matches({ user: 'alice', groups: [] })).toBe(true);
    expect(m.matches({ user: 'bob', groups: ['x', 'devs'] })).toBe(true);
    expect(m.matches({ user: 'devs', groups: ['alice'] })).toBe(false);
  });
});
