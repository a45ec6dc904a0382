// KEEL_PAYLOAD_KEY: every payload Keel hands Temporal (workflow inputs such as run specs, results, signals, updates,
// queries, memos, schedule arguments) is AES-256-GCM encrypted before it leaves the process, so Temporal's store,
// its Web UI and anyone reading histories see ciphertext. Runs on the client and the worker side (never inside
// the workflow sandbox), so the workflow bundle and history replay are unchanged.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import type { KeelConfig } from '../config.js';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Metadata naming the key a payload was sealed with, so a rotated-out key can still open old payloads. */
export const KEY_ID_METADATA = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const utf8 = (text: string) => new TextEncoder().encode(text);
const text = (bytes: Uint8Array | null | undefined) => (bytes ? Buffer.from(bytes).toString('utf8') : undefined);

/** A short public name of a key (a hash prefix): identifies it in metadata without revealing it. */
export function payloadKeyId(key: Buffer): string {
  return createHash('sha256').update('keel-payload-key\0').update(key).digest('hex').slice(0, 16);
}

export class PayloadKeyMissingError extends Error {
  constructor(keyId: string) {
    super(`payload encrypted with key ${keyId}, which neither KEEL_PAYLOAD_KEY nor KEEL_PAYLOAD_PREVIOUS_KEYS holds`);
    this.name = 'PayloadKeyMissingError';
  }
}

export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly current: { key: Buffer; id: string } | undefined;
  private readonly keys = new Map<string, Buffer>();

  /**
   * Encrypts with `key`; decrypts what `key` or any of `previousKeys` sealed. Without `key` it only decrypts
   * (switching encryption off while histories written under it still exist).
   */
  constructor(key: Buffer | undefined, previousKeys: Buffer[] = []) {
    this.current = key ? { key, id: payloadKeyId(key) } : undefined;
    for (const candidate of [...previousKeys, ...(key ? [key] : [])]) this.keys.set(payloadKeyId(candidate), candidate);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const current = this.current;
    return current ? payloads.map((payload) => seal(payload, current)) : payloads;
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    // Payloads written before encryption was switched on pass through: runs in flight keep working.
    return payloads.map((payload) => (text(payload.metadata?.encoding) === ENCRYPTED_ENCODING ? this.open(payload) : payload));
  }

  private open(payload: Payload): Payload {
    const keyId = text(payload.metadata?.[KEY_ID_METADATA]) ?? '(none)';
    const key = this.keys.get(keyId);
    if (!key) throw new PayloadKeyMissingError(keyId);
    const data = Buffer.from(payload.data ?? new Uint8Array());
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(keyId));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    return deserialisePayload(Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]));
  }
}

function seal(payload: Payload, current: { key: Buffer; id: string }): Payload {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', current.key, iv);
  // The key id is authenticated too: a payload relabelled with another key id fails to open.
  cipher.setAAD(Buffer.from(current.id));
  const sealed = Buffer.concat([cipher.update(serialisePayload(payload)), cipher.final()]);
  return {
    metadata: { encoding: utf8(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8(current.id) },
    data: Buffer.concat([iv, sealed, cipher.getAuthTag()]),
  };
}

/** The plain payload as bytes (JSON of base64 fields: no protobuf dependency, and payloads are small). */
function serialisePayload(payload: Payload): Buffer {
  const metadata = Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([name, value]) => [name, Buffer.from(value ?? []).toString('base64')]));
  return Buffer.from(JSON.stringify({ metadata, data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64') }));
}

function deserialisePayload(bytes: Buffer): Payload {
  const parsed = JSON.parse(bytes.toString('utf8')) as { metadata: Record<string, string>; data: string };
  return {
    metadata: Object.fromEntries(Object.entries(parsed.metadata).map(([name, value]) => [name, new Uint8Array(Buffer.from(value, 'base64'))])),
    data: new Uint8Array(Buffer.from(parsed.data, 'base64')),
  };
}

/** The data converter of every Keel client and worker: encrypting when KEEL_PAYLOAD_KEY is set, Temporal's default otherwise. */
export function keelDataConverter(config: Pick<KeelConfig, 'payloadKey' | 'payloadPreviousKeys'>): DataConverter | undefined {
  if (!config.payloadKey && config.payloadPreviousKeys.length === 0) return undefined;
  return { payloadCodecs: [new AesGcmPayloadCodec(config.payloadKey, config.payloadPreviousKeys)] };
}
