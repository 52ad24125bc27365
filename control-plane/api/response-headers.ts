/**
 * Headers on every answer of the admin API, success or refusal: answers name users, groups and
 * policies, so no cache keeps them, and they are JSON, so no browser may sniff them into
 * something it would run.
 */
export const RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};
