// The one redaction of secrets in URLs (dataset URLs with query tokens, user:password@ credentials), used wherever a
// URL is stored or shown outside the run's own execution: workflow memos, audit rows, API responses.
// Pure string work (no URL parser, no Node built-ins): the same result in the API, the workers and workflow code.

/** What replaces a URL's credentials, query string or fragment. */
export const REDACTED = '[redacted]';

/** `scheme://…` up to whitespace only: a quote may sit inside a query, so a closing quote after a URL goes with it. */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/\S*/gi;

/**
 * `https://user:pass@host/path/data.csv?token=abc#frag` → `https://[redacted]@host/path/data.csv?[redacted]#[redacted]`.
 * The scheme, host and path stay (they say which data it was); what may carry a secret goes.
 */
export function redactUrl(url: string): string {
  const schemeEnd = url.indexOf('://');
  if (schemeEnd < 0) return url;
  const authorityStart = schemeEnd + 3;
  let authorityEnd = url.slice(authorityStart).search(/[/?#]/);
  authorityEnd = authorityEnd < 0 ? url.length : authorityStart + authorityEnd;
  const authority = url.slice(authorityStart, authorityEnd);
  const at = authority.lastIndexOf('@');
  const host = at < 0 ? authority : `${REDACTED}@${authority.slice(at + 1)}`;
  let rest = url.slice(authorityEnd);
  const hash = rest.indexOf('#');
  const fragment = hash < 0 ? '' : `#${REDACTED}`;
  if (hash >= 0) rest = rest.slice(0, hash);
  const question = rest.indexOf('?');
  const path = question < 0 ? rest : `${rest.slice(0, question)}?${REDACTED}`;
  return `${url.slice(0, authorityStart)}${host}${path}${fragment}`;
}

/** Every URL inside free text (an error message, a reason) redacted. */
export function redactUrlsIn(text: string): string {
  // Most strings hold no URL: skip the regex replace for them.
  return text.includes('://') ? text.replace(URL_IN_TEXT, redactUrl) : text;
}

/** A copy of `value` (JSON-like) with every string's URLs redacted; values without a URL are returned as they are. */
export function redactUrlsDeep<T>(value: T): T {
  return redactValue(value, 0) as T;
}

function redactValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactUrlsIn(value);
  if (value === null || typeof value !== 'object' || depth > 64) return value;
  if (value instanceof Date) return value;
  if (Array.isArray(value)) {
    let changed = false;
    const items = value.map((item) => {
      const redacted = redactValue(item, depth + 1);
      if (redacted !== item) changed = true;
      return redacted;
    });
    return changed ? items : value;
  }
  let changed = false;
  const entries = Object.entries(value).map(([key, item]) => {
    const redacted = redactValue(item, depth + 1);
    if (redacted !== item) changed = true;
    return [key, redacted] as const;
  });
  return changed ? Object.fromEntries(entries) : value;
}
