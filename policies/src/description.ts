import { formatPath } from './decode-context';
import { string } from './decoders';
import { PolicyBadValueError } from './policy-errors';

const MAX = 2000;

/** Free text for reviewers: why the document exists. Shown by the CLI; never used to decide. */
export const description = string({
  expected: 'a text',
  schema: { type: 'string', minLength: 1, maxLength: MAX },
  parse(text, fail, path) {
    if (text.trim() === '') return fail(PolicyBadValueError, `${formatPath(path)} is blank: say why the document exists, or remove the field`);
    if (text.length > MAX) return fail(PolicyBadValueError, `${formatPath(path)} has ${text.length} characters: at most ${MAX}`);
    return text;
  },
});
