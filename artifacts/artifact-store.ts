// The artifact store: immutable, content-addressed blobs (dataset snapshots, models, reports).
//
// Every artifact is named by the sha256 of its bytes, so writing the same bytes twice is a no-op
// and a reader can always check that what it got is what was written.
//
// Adding an S3-compatible store: implement this interface over a bucket with keys
// `sha256/<ab>/<sha256><ext>` (the same layout as the filesystem store). `putFile` hashes the local
// file while streaming it into a multipart upload to a temporary key, then copies it to the final
// key only if that key does not exist yet (S3 `If-None-Match: *` on the copy/put makes this atomic),
// and deletes the temporary key. `open` streams the object and verifies the sha256 when the stream
// ends (destroying it with `ArtifactIntegrityError` on a mismatch). `localPath` downloads the object
// once into a local cache directory (verifying its hash, temp file + rename) and returns that path,
// because DuckDB and onnxruntime read local files. `uri` is `s3://<bucket>/<key>`.
import type { Readable } from 'node:stream';
import { KeelError } from '../errors/keel-error.js';

/** What the store returns after writing: the content address and where it lives. */
export interface StoredArtifact {
  sha256: string;
  /** `file:///…` for the filesystem store, `s3://…` for an object store. */
  uri: string;
  size: number;
}

export interface PutOptions {
  /** File name extension kept on the stored object (e.g. `.parquet`), so tools that sniff by name work. */
  extension?: string;
}

export interface PutFileOptions extends PutOptions {
  /**
   * The caller gives the file up: the store may move it instead of copying (one write less for large
   * snapshots). The file is gone afterwards either way the store chooses.
   */
  move?: boolean;
}

export interface ArtifactStore {
  /** Stores a local file (a copy, unless `move`); idempotent per content. */
  putFile(tmpPath: string, options?: PutFileOptions): Promise<StoredArtifact>;
  putBytes(bytes: Uint8Array, options?: PutOptions): Promise<StoredArtifact>;
  exists(sha256: string): Promise<boolean>;
  /** A stream of the artifact's bytes that errors with `ArtifactIntegrityError` if they do not hash to `sha256`. */
  open(sha256: string): Readable;
  /** The whole artifact in memory, verified; for small artifacts (models, reports). */
  read(sha256: string): Promise<Buffer>;
  /** A local file path holding the artifact, verified, for readers that need a file (DuckDB, onnxruntime). */
  localPath(sha256: string): Promise<string>;
}

/** No artifact with that sha256 is stored. */
export class ArtifactNotFoundError extends KeelError {
  constructor(readonly sha256: string) {
    super('ARTIFACT_NOT_FOUND', `artifact ${sha256} is not in the artifact store`, { sha256 });
  }
}

/** A stored artifact's bytes do not hash to its address: corrupt or tampered with. */
export class ArtifactIntegrityError extends KeelError {
  constructor(
    readonly sha256: string,
    readonly actualSha256: string,
  ) {
    super('ARTIFACT_INTEGRITY', `artifact ${sha256} is corrupt: its bytes hash to ${actualSha256}`, { sha256, actualSha256 });
  }
}

const SHA256_PATTERN = /^[0-9a-f]{64}$/;

export function assertSha256(value: string): void {
  if (!SHA256_PATTERN.test(value)) {
    throw new TypeError(`not a sha256 hex digest: ${JSON.stringify(value)}`);
  }
}
