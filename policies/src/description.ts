/** Free text for reviewers: why the document exists. Shown by the CLI; never used to decide. */
import { formatPath } from './decode-context';
import { string } from './decoders';
import { PolicyBadValueError } from './policy-errors';

const MAX = 2000;

const blank = (path: readonly (string | number)[]) => `${formatPath(path)} is blank: say why the document exists, or remove the field`;

export const description = string({
  expected: 'a text',
  schema: { type: 'string', minLength: 1, maxLength: MAX },
  refused(text, path) {
    const message = text.length === 0 ? blank(path) : `${formatPath(path)} has ${text.length} characters: at most ${MAX}`;
    return { ErrorClass: PolicyBadValueError, message };
  },
  // Spaces only pass minLength but say nothing.
  convert: (text, fail, path) => (text.trim() === '' ? fail(PolicyBadValueError, blank(path)) : text),
});
