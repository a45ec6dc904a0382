// The run spec's trainer parameters, checked before any trainer sees them: a bad name or value is the spec's
// fault (TRAINING_FAILED), never a retried bug.
import { TrainingDataError } from '../data/training-data.js';

/** Trainer params from the spec, minus what the training sets itself; unknown names are refused, not ignored. */
export function checkedTrainerParams(params: Record<string, unknown> | undefined, known: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(params ?? {})) {
    // The pipeline passes the run's seed separately (it may come from these params).
    if (name === 'seed') continue;
    if (name === 'task' || name === 'features') {
      throw new TrainingDataError(`trainer parameter "${name}" comes from the run spec, not from trainer.params`);
    }
    if (!known.includes(name)) {
      throw new TrainingDataError(`unknown trainer parameter "${name}" (known: ${known.filter((k) => k !== 'seed').join(', ')})`);
    }
    out[name] = value;
  }
  return out;
}

/**
 * The trainers' parameter checks throw RangeError for a value out of range: here, and only here, that is the
 * spec's fault. A RangeError anywhere else is a bug and stays retryable.
 */
export function refusingBadParams<T>(resolve: () => T): T {
  try {
    return resolve();
  } catch (error) {
    if (error instanceof RangeError) throw new TrainingDataError(error.message);
    throw error;
  }
}
