import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { AesGcmPayloadCodec, ENCRYPTED_ENCODING, KEY_ID_METADATA, keelDataConverter, PayloadKeyMissingError, payloadKeyId } from './payload-encryption-codec.js';

const spec = { model: 'churn', dataset: { uri: 'postgres://warehouse?token=SECRET-TOKEN-42' } };
const plain = (): Payload => defaultPayloadConverter.toPayload(spec)!;
const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('utf8');

describe('AesGcmPayloadCodec', () => {
  it('when it encodes a payload, then the bytes hold no plain text and the metadata names the encoding and key id only', async () => {
    const key = randomBytes(32);
    const [sealed] = await new AesGcmPayloadCodec(key).encode([plain()]);
    expect(text(sealed!.data)).not.toContain('SECRET-TOKEN-42');
    expect(text(sealed!.data)).not.toContain('churn');
    expect(Object.keys(sealed!.metadata ?? {}).sort()).toEqual(['encoding', KEY_ID_METADATA]);
    expect(text(sealed!.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(sealed!.metadata![KEY_ID_METADATA])).toBe(payloadKeyId(key));
    expect(payloadKeyId(key)).not.toContain(key.toString('hex').slice(0, 8));
  });

  it('when it decodes what it encoded, then the payload comes back byte for byte', async () => {
    const codec = new AesGcmPayloadCodec(randomBytes(32));
    const [opened] = await codec.decode(await codec.encode([plain()]));
    expect(opened).toEqual(plain());
    expect(defaultPayloadConverter.fromPayload(opened!)).toEqual(spec);
  });

  it('when the same payload is encoded twice, then the ciphertexts differ (a fresh IV each time)', async () => {
    const codec = new AesGcmPayloadCodec(randomBytes(32));
    const [first, second] = await codec.encode([plain(), plain()]);
    expect(Buffer.from(first!.data!)).not.toEqual(Buffer.from(second!.data!));
  });

  it('when the key was rotated, then payloads sealed by the previous key still open and new ones use the new key', async () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const sealedOld = await new AesGcmPayloadCodec(oldKey).encode([plain()]);
    const rotated = new AesGcmPayloadCodec(newKey, [oldKey]);
    expect(defaultPayloadConverter.fromPayload((await rotated.decode(sealedOld))[0]!)).toEqual(spec);
    const [sealedNew] = await rotated.encode([plain()]);
    expect(text(sealedNew!.metadata![KEY_ID_METADATA])).toBe(payloadKeyId(newKey));
  });

  it('when the key that sealed a payload is not configured, then decoding fails naming its key id', async () => {
    const oldKey = randomBytes(32);
    const sealed = await new AesGcmPayloadCodec(oldKey).encode([plain()]);
    await expect(new AesGcmPayloadCodec(randomBytes(32)).decode(sealed)).rejects.toThrow(PayloadKeyMissingError);
    await expect(new AesGcmPayloadCodec(randomBytes(32)).decode(sealed)).rejects.toThrow(payloadKeyId(oldKey));
  });

  it('when a sealed payload was tampered with or relabelled, then decoding refuses it', async () => {
    const otherKey = randomBytes(32);
    const codec = new AesGcmPayloadCodec(randomBytes(32), [otherKey]);
    const [sealed] = await codec.encode([plain()]);
    const flipped = Buffer.from(sealed!.data!);
    flipped[20] = flipped[20]! ^ 1;
    await expect(codec.decode([{ ...sealed!, data: flipped }])).rejects.toThrow(/unable to authenticate/);
    const relabelled = { ...sealed!, metadata: { ...sealed!.metadata, [KEY_ID_METADATA]: Buffer.from(payloadKeyId(otherKey)) } };
    await expect(codec.decode([relabelled])).rejects.toThrow(/unable to authenticate/);
    expect(defaultPayloadConverter.fromPayload((await codec.decode([sealed!]))[0]!)).toEqual(spec);
  });

  it('when a payload was written before encryption was on, then it passes through (runs in flight keep working)', async () => {
    const codec = new AesGcmPayloadCodec(randomBytes(32));
    expect(await codec.decode([plain()])).toEqual([plain()]);
  });

  it('when only previous keys are configured, then it stops encrypting but still opens old payloads', async () => {
    const oldKey = randomBytes(32);
    const sealed = await new AesGcmPayloadCodec(oldKey).encode([plain()]);
    const decryptOnly = new AesGcmPayloadCodec(undefined, [oldKey]);
    expect(await decryptOnly.encode([plain()])).toEqual([plain()]);
    expect(defaultPayloadConverter.fromPayload((await decryptOnly.decode(sealed))[0]!)).toEqual(spec);
  });
});

describe('keelDataConverter', () => {
  it('when KEEL_PAYLOAD_KEY is unset, then Temporal\'s default converter is used', () => {
    expect(keelDataConverter(loadConfig({}))).toBeUndefined();
  });

  it('when KEEL_PAYLOAD_KEY is hex or base64, then payloads are encrypted with that key', async () => {
    const key = randomBytes(32);
    for (const encoded of [key.toString('hex'), key.toString('base64')]) {
      const converter = keelDataConverter(loadConfig({ KEEL_PAYLOAD_KEY: encoded }));
      const [sealed] = await converter!.payloadCodecs![0]!.encode([plain()]);
      expect(text(sealed!.metadata![KEY_ID_METADATA])).toBe(payloadKeyId(key));
    }
  });

  it.each([['KEEL_PAYLOAD_KEY', 'too-short'], ['KEEL_PAYLOAD_KEY', 'ab'.repeat(31)], ['KEEL_PAYLOAD_PREVIOUS_KEYS', `${randomBytes(32).toString('hex')},nope`]])(
    'when %s is not a 256-bit key, then loading the config fails naming it',
    (env, value) => {
      expect(() => loadConfig({ [env]: value })).toThrow(new RegExp(`${env} must be a 256-bit key`));
    },
  );
});
