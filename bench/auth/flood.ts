// bench/auth's flooding process: prepares one request per junk token and connects, says `{"ready":true}`, floods when
// it reads a line on stdin, and prints what it saw. Imports nothing of Keel, so starting it costs the API little CPU.
// Usage (by run.ts): flood.ts <url> <malformed|unknown-prefix|known-prefix> <amount> <known prefix> <rate> <connections> <depth>
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { getRequest, prepareFlood } from './raw-http.js';

export type JunkKind = 'malformed' | 'unknown-prefix' | 'known-prefix';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export function junkToken(kind: JunkKind, knownPrefix: string): string {
  const secret = randomBytes(32).toString('base64url');
  if (kind === 'malformed') return `junk-${randomBytes(24).toString('hex')}`;
  if (kind === 'known-prefix') return `keel_${knownPrefix}_${secret}`;
  let prefix = '';
  for (const byte of randomBytes(8)) prefix += ALPHABET[byte % ALPHABET.length];
  return `keel_${prefix}_${secret}`;
}

const [url, kind, amount, knownPrefix, rate, connections, depth] = process.argv.slice(2);
const target = new URL(url!);
const requests = Array.from({ length: Number(amount) }, () =>
  getRequest(target, { authorization: `Bearer ${junkToken(kind as JunkKind, knownPrefix!)}` }),
);
const flood = await prepareFlood(target, requests, { connections: Number(connections), depth: Number(depth), rate: Number(rate) });
console.log(JSON.stringify({ ready: true }));
process.stdin.setEncoding('utf8');
await once(process.stdin, 'data');
console.log(JSON.stringify(await flood.start()));
process.exit(0);
