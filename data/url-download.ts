// Downloads a URL source into a local file for DuckDB, refusing private addresses at every redirect hop.
//
// Uses node:http(s) rather than fetch so the address check runs inside the connection's DNS lookup:
// the address that is checked is the address that is connected to (no DNS-rebinding window).
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { SourceNotAllowedError, SourceNotFoundError, SourceUnreadableError, firstLine } from './errors.js';
import { isNonPublicAddress, networkList } from './network-address-policy.js';

export interface UrlPolicy {
  allowPrivateUrls?: boolean;
  /** Private networks an admin allows by CIDR (e.g. `10.1.2.0/24`, `127.0.0.1/32`), when not all are allowed. */
  allowedPrivateNetworks?: string[];
  allowHttpUrls?: boolean;
  maxDownloadBytes?: number;
  /** Extra trusted CA certificates (PEM) for https sources behind a private CA. */
  caCertificates?: string[];
  /** Aborts the download (activity cancellation). */
  signal?: AbortSignal;
}

export interface DownloadedUrl {
  path: string;
  /** The URL the bytes finally came from, after redirects. */
  finalUrl: string;
  contentType: string | undefined;
  bytes: number;
}

const MAX_REDIRECTS = 5;
const IDLE_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_BYTES = 2 * 1024 ** 3;

function refusedAddress(address: string, policy: UrlPolicy): boolean {
  if (policy.allowPrivateUrls || !isNonPublicAddress(address)) return false;
  return !(policy.allowedPrivateNetworks?.length && networkList(policy.allowedPrivateNetworks).includes(address));
}

/** Checks scheme and literal-IP host of a URL before any connection is made. */
export function checkUrlAllowed(raw: string, policy: UrlPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SourceNotAllowedError(`${JSON.stringify(raw)} is not a valid URL`, { url: raw });
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttpUrls)) {
    throw new SourceNotAllowedError(
      `URL ${url.href} uses ${url.protocol.replace(':', '')}; only https${policy.allowHttpUrls ? ' and http' : ''} URLs are allowed`,
      { url: url.href },
    );
  }
  if (url.username || url.password) {
    throw new SourceNotAllowedError(`URL ${redact(url)} carries credentials; configure access another way`, {
      url: redact(url),
    });
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!policy.allowPrivateUrls && !policy.allowedPrivateNetworks?.length && (host === 'localhost' || host.endsWith('.localhost'))) {
    throw new SourceNotAllowedError(`URL ${url.href} points at a loopback host`, { url: url.href });
  }
  if (isIP(host) !== 0 && refusedAddress(host, policy)) {
    throw new SourceNotAllowedError(`URL ${url.href} points at the non-public address ${host}`, { url: url.href });
  }
  return url;
}

/** A DNS lookup that fails when any resolved address is non-public (unless allowed). */
function guardedLookup(policy: UrlPolicy, url: URL): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const list = addresses as unknown as LookupAddress[];
      const blocked = list.find((entry) => refusedAddress(entry.address, policy));
      if (blocked) {
        const refusal = new SourceNotAllowedError(
          `URL ${url.href} resolves to the non-public address ${blocked.address}`,
          { url: url.href, address: blocked.address },
        );
        return callback(refusal as unknown as NodeJS.ErrnoException, '', 0);
      }
      if (options.all) return callback(null, list as never);
      const first = list[0];
      if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
      callback(null, first.address, first.family);
    });
  };
}

/** Downloads `raw` into `destination`, following at most 5 redirects, each hop checked against the policy. */
export async function downloadUrl(raw: string, destination: string, policy: UrlPolicy): Promise<DownloadedUrl> {
  let url = checkUrlAllowed(raw, policy);
  try {
    for (let hop = 0; hop <= MAX_REDIRECTS; hop += 1) {
      const response = await request(url, policy);
      const status = response.statusCode ?? 0;
      if (status >= 300 && status < 400 && response.headers.location) {
        response.resume();
        const next = new URL(response.headers.location, url);
        url = checkUrlAllowed(next.href, policy);
        continue;
      }
      if (status === 404 || status === 410) {
        response.resume();
        throw new SourceNotFoundError(`URL ${url.href} returned ${status}: not found`, { url: url.href, status });
      }
      if (status < 200 || status >= 300) {
        response.resume();
        throw new SourceUnreadableError(`URL ${url.href} returned HTTP ${status}`, { url: url.href, status });
      }
      const bytes = await saveBody(response, destination, policy.maxDownloadBytes ?? DEFAULT_MAX_BYTES, url);
      return { path: destination, finalUrl: url.href, contentType: response.headers['content-type'], bytes };
    }
    throw new SourceUnreadableError(`URL ${raw} redirected more than ${MAX_REDIRECTS} times`, { url: raw });
  } catch (error) {
    await rm(destination, { force: true });
    throw error;
  }
}

function request(url: URL, policy: UrlPolicy): Promise<http.IncomingMessage> {
  return new Promise((resolvePromise, reject) => {
    const options: https.RequestOptions = {
      method: 'GET',
      lookup: guardedLookup(policy, url),
      headers: { 'user-agent': 'keel-data-plane', accept: '*/*' },
      timeout: IDLE_TIMEOUT_MS,
      ...(policy.caCertificates?.length ? { ca: policy.caCertificates } : {}),
      ...(policy.signal ? { signal: policy.signal } : {}),
    };
    const client = url.protocol === 'https:' ? https : http;
    const req = client.request(url, options, resolvePromise);
    req.on('timeout', () => req.destroy(new SourceUnreadableError(`URL ${url.href} timed out`, { url: url.href })));
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (policy.signal?.aborted) return reject(policy.signal.reason);
      if (error instanceof SourceNotAllowedError || error instanceof SourceUnreadableError) return reject(error);
      const code = error.code ?? '';
      if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
        return reject(new SourceNotFoundError(`URL ${url.href}: host ${url.hostname} not found`, { url: url.href }));
      }
      reject(new SourceUnreadableError(`URL ${url.href} could not be fetched: ${firstLine(error)}`, { url: url.href }));
    });
    req.end();
  });
}

async function saveBody(
  response: http.IncomingMessage,
  destination: string,
  maxBytes: number,
  url: URL,
): Promise<number> {
  let received = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (received > maxBytes) {
        callback(new SourceUnreadableError(`URL ${url.href} is larger than ${maxBytes} bytes`, { url: url.href }));
        return;
      }
      callback(null, chunk);
    },
  });
  try {
    await pipeline(response, limit, createWriteStream(destination, { flags: 'wx' }));
  } catch (error) {
    if (error instanceof SourceUnreadableError) throw error;
    throw new SourceUnreadableError(`URL ${url.href} download failed: ${firstLine(error)}`, { url: url.href });
  }
  return received;
}

function redact(url: URL): string {
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}
