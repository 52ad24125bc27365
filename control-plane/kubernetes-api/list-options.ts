/**
 * The query-string half of kube-apiserver's request attributes: how a GET without a name becomes
 * `list` or `watch`, and when `fieldSelector=metadata.name=X` names the object. kube-apiserver
 * (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go, RequestInfoFactory.NewRequestInfo)
 * decodes the whole query into ListOptions first and only trusts the field selector when that
 * decoding succeeds, so this module reproduces the parts of that decoding that can fail:
 *
 * - Go's url.ParseQuery (net/url): `&`-separated pairs; a pair containing `;` is dropped; a pair
 *   whose key or value has a malformed %-escape is dropped; `+` means space; first value wins.
 * - Convert_url_Values_To_v1_ListOptions (apimachinery meta/v1, generated) with the string
 *   conversions of apimachinery/pkg/runtime/conversion.go: `limit` and `timeoutSeconds` go
 *   through strconv.ParseInt and fail on anything but a base-10 int64; booleans never fail.
 * - the v1 -> internal conversion, which parses `fieldSelector` (apimachinery/pkg/fields,
 *   ParseSelector) and `labelSelector` (apimachinery/pkg/labels, Parse) and fails on bad syntax.
 *
 * Everything here works on "byte strings": a JS string whose code units are the bytes of the
 * decoded Go string (latin1). Go strings are bytes, a %-escape may produce any byte, and byte
 * order is what Go's sort and comparisons use; text is decoded as UTF-8 only at the end.
 *
 * The three readings live beside this file (go-query.ts, field-selector.ts, label-selector.ts);
 * this one puts them together the way the ListOptions decoding does.
 */
import { parseFieldSelector, type FieldTerm } from './field-selector';
import { goQueryBool, isGoInt64, type GoQuery } from './go-query';
import { isValidLabelSelector } from './label-selector';

export type ListOptionsDecoding =
  | { readonly ok: true; readonly watch: boolean; readonly fieldSelector: readonly FieldTerm[] | null }
  | { readonly ok: false };

/**
 * metainternalversionscheme.ParameterCodec.DecodeParameters(query, meta/v1, &ListOptions{}):
 * whether it succeeds, and if so the watch flag and the parsed field selector.
 */
export function decodeListOptions(query: GoQuery): ListOptionsDecoding {
  if (query.size === 0) return { ok: true, watch: false, fieldSelector: null };
  const first = (key: string) => query.get(key)?.[0];
  for (const key of ['limit', 'timeoutSeconds']) {
    const v = first(key);
    if (v !== undefined && !isGoInt64(v)) return { ok: false };
  }
  const fieldSelector = parseFieldSelector(first('fieldSelector') ?? '');
  if (fieldSelector === null) return { ok: false };
  if (!isValidLabelSelector(first('labelSelector') ?? '')) return { ok: false };
  const watch = first('watch');
  return { ok: true, watch: watch !== undefined && goQueryBool(watch), fieldSelector };
}
