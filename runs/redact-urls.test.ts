// URL redaction: credentials, query strings and fragments go; scheme, host and path stay.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redactUrl, redactUrlsDeep, redactUrlsIn } from './redact-urls.js';

describe('redactUrl', () => {
  it.each([
    ['https://data.example.com/flights.csv?X-Amz-Signature=abc&token=s3cr3t', 'https://data.example.com/flights.csv?[redacted]'],
    ['https://alice:hunter2@data.example.com/f.parquet', 'https://[redacted]@data.example.com/f.parquet'],
    ['https://tok@host?x=1#access_token=y', 'https://[redacted]@host?[redacted]#[redacted]'],
    ['postgres://keel:pw@db:5432/keel?sslmode=require', 'postgres://[redacted]@db:5432/keel?[redacted]'],
    ['https://host/a/b.csv', 'https://host/a/b.csv'],
    ['/data/local.csv', '/data/local.csv'],
  ])('%s → %s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });

  it('when a URL sits inside an error message, then only its secrets go', () => {
    expect(redactUrlsIn('could not download https://u:p@h/x.csv?sig=1 (403)')).toBe('could not download https://[redacted]@h/x.csv?[redacted] (403)');
  });

  it('when given a nested value, then every string is redacted and the input is untouched', () => {
    const input = { dataset: { uri: 'https://h/x?t=1' }, sources: [{ uri: 'https://a:b@h/y' }], n: 3, ok: 'plain' };
    expect(redactUrlsDeep(input)).toEqual({ dataset: { uri: 'https://h/x?[redacted]' }, sources: [{ uri: 'https://[redacted]@h/y' }], n: 3, ok: 'plain' });
    expect(input.dataset.uri).toBe('https://h/x?t=1');
  });

  it('never lets a query value or a password through, whatever the URL', () => {
    const secret = fc.stringMatching(/^[A-Za-z0-9]{12,20}$/);
    fc.assert(
      fc.property(fc.webUrl({ withQueryParameters: true, withFragments: true }), secret, secret, (url, password, token) => {
        const withSecrets = url.replace('://', `://user:${password}@`) + (url.includes('?') ? `&t=${token}` : `?t=${token}`);
        const redacted = redactUrlsIn(`failed: ${withSecrets}`);
        return !redacted.includes(password) && !redacted.includes(token);
      }),
    );
  });
});
