// Where a training attempt leaves its GBDT checkpoint so the next attempt of the same run can resume:
// `<checkpointDir>/<runId>/gbdt-<fingerprint>.json`. The name carries no attempt number (any attempt finds it)
// and a fingerprint of everything that shapes the model (a changed spec never resumes a stale run).
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, rmdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { GBDT_CHECKPOINT_FORMAT, type GbdtCheckpoint, type GbdtParams } from '../ml/gbdt/index.js';
import type { Task } from '../ml/model.js';

export const TRAINING_CHECKPOINT_FORMAT = 'keel-training-checkpoint/1';

/** The file's JSON: the trainer's checkpoint wrapped with what it belongs to. */
export interface TrainingCheckpointFile {
  format: typeof TRAINING_CHECKPOINT_FORMAT;
  runId: string;
  fingerprint: string;
  savedAt: string;
  checkpoint: GbdtCheckpoint;
}

export class TrainingCheckpointStore {
  readonly path: string;
  private readonly runDir: string;

  constructor(
    checkpointDir: string,
    readonly runId: string,
    readonly fingerprint: string,
  ) {
    // Run ids come from the API; keep them from escaping the checkpoint directory.
    this.runDir = join(checkpointDir, runId.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_'));
    this.path = join(this.runDir, `gbdt-${fingerprint.slice(0, 24)}.json`);
  }

  /** Writes atomically: temp file, fsync, rename over the old checkpoint, fsync of the directory. */
  async save(checkpoint: GbdtCheckpoint, savedAt: Date): Promise<void> {
    const body: TrainingCheckpointFile = {
      format: TRAINING_CHECKPOINT_FORMAT,
      runId: this.runId,
      fingerprint: this.fingerprint,
      savedAt: savedAt.toISOString(),
      checkpoint,
    };
    await mkdir(this.runDir, { recursive: true });
    const staging = `${this.path}.tmp-${randomUUID()}`;
    try {
      const handle = await open(staging, 'w');
      try {
        await handle.writeFile(JSON.stringify(body));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(staging, this.path);
    } finally {
      await rm(staging, { force: true });
    }
    const dir = await open(this.runDir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  /**
   * The saved checkpoint of this run and fingerprint, or null when there is none. A file that is unreadable
   * or belongs to something else is reported through `reject` and ignored: starting over is always safe.
   */
  async load(reject: (why: string) => void): Promise<GbdtCheckpoint | null> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    let parsed: Partial<TrainingCheckpointFile>;
    try {
      parsed = JSON.parse(text) as Partial<TrainingCheckpointFile>;
    } catch {
      reject('checkpoint file is not valid JSON');
      return null;
    }
    if (parsed.format !== TRAINING_CHECKPOINT_FORMAT || parsed.checkpoint?.format !== GBDT_CHECKPOINT_FORMAT) {
      reject(`checkpoint file has format ${String(parsed.format)}/${String(parsed.checkpoint?.format)}`);
      return null;
    }
    if (parsed.fingerprint !== this.fingerprint || parsed.runId !== this.runId) {
      reject('checkpoint file belongs to another run or training spec');
      return null;
    }
    return parsed.checkpoint;
  }

  /** Removes this checkpoint, and the run's directory when nothing else is left in it. */
  async remove(): Promise<void> {
    await rm(this.path, { force: true });
    // A worker killed mid-save leaves its temp file behind.
    const names = await readdir(this.runDir).catch(() => [] as string[]);
    const staging = `${basename(this.path)}.tmp-`;
    await Promise.all(names.filter((name) => name.startsWith(staging)).map((name) => rm(join(this.runDir, name), { force: true })));
    try {
      await rmdir(this.runDir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    }
  }
}

/** What a training run is of: with the resolved params, everything that shapes the model. */
export interface TrainingShape {
  snapshotSha256: string;
  target: string;
  task: Task;
  seed: number;
}

/** A checkpoint only resumes a run with the same fingerprint. */
export function trainingFingerprint(run: TrainingShape, params: GbdtParams): string {
  const shape = { snapshotSha256: run.snapshotSha256, target: run.target, task: run.task, seed: run.seed, params };
  return createHash('sha256').update(JSON.stringify(shape)).digest('hex');
}
