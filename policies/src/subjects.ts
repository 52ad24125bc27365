/** Who a document is about: users and groups, by the names their identity carries. */
import { list } from './decoders';
import { subjectName } from './names';
import { object } from './object-decoder';
import { PolicyMissingFieldError } from './policy-errors';

/**
 * Who: users by their kubegate name (the user a kubegate certificate's URI SAN names), groups
 * as kubegate's records (or the identity provider's claims) name them. A person matches when
 * they are one of the users or belong to one of the groups. Membership lives in those records,
 * not in policies.
 */
export interface Subjects {
  readonly users?: readonly string[];
  readonly groups?: readonly string[];
}

export const subjects = object<Subjects>({
  expected: 'a mapping with users and/or groups',
  schemaName: 'Subjects',
  description:
    'People, as users and groups named exactly as their identity carries them. A person matches when they are one of the users or a member of one of the groups. At least one of users and groups.',
  typeHint: '; write {users: [alice@example.com], groups: [payments-engineers]}',
  fields: {
    users: {
      decoder: list(subjectName('user'), { expected: 'a list of user names', noun: 'user' }),
      description: 'Users, by their kubegate user name (what their certificate names; an identity-provider subject or email).',
      example: ['alice@example.com', 'bob@example.com'],
    },
    groups: {
      decoder: list(subjectName('group'), { expected: 'a list of group names', noun: 'group' }),
      description: 'Groups, by the name the identity provider gives them; every member matches.',
      example: ['payments-engineers'],
    },
  },
  schemaExtras: { minProperties: 1 },
  empty: { ErrorClass: PolicyMissingFieldError, message: (where) => `${where} names nobody: add users, groups or both` },
});
