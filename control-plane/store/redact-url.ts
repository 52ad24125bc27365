/**
 * A database URL fit for messages and logs: the password replaced by "***", both in the
 * user-info part and in a `password=` query parameter. Works on strings that do not parse as
 * URLs too, since those are exactly the ones that end up in error messages.
 */
export function redactUrl(url: string): string {
  return url
    // Greedy up to the last '@' of the authority: a password may hold a raw '@'.
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*):[^/?#]*@/i, '$1:***@')
    .replace(/([?&]password=)[^&#]*/gi, '$1***');
}
