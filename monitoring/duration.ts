// Durations as ops write them in a policy: '1h', '30m', '90s', '2 days', or plain milliseconds.
const UNIT_MS: Record<string, number> = {
  ms: 1, millisecond: 1, milliseconds: 1,
  s: 1_000, sec: 1_000, secs: 1_000, second: 1_000, seconds: 1_000,
  m: 60_000, min: 60_000, mins: 60_000, minute: 60_000, minutes: 60_000,
  h: 3_600_000, hr: 3_600_000, hrs: 3_600_000, hour: 3_600_000, hours: 3_600_000,
  d: 86_400_000, day: 86_400_000, days: 86_400_000,
  w: 604_800_000, week: 604_800_000, weeks: 604_800_000,
};

export const DURATION_PATTERN = '^[0-9]+(\\.[0-9]+)?\\s*(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|weeks?)$';

/** Milliseconds of a duration string or number; throws RangeError on anything else (a number too long to hold too). */
export function durationToMs(duration: string | number): number {
  if (typeof duration === 'number') {
    if (!Number.isFinite(duration) || duration < 0) throw new RangeError(`duration ${duration} is not a non-negative number of milliseconds`);
    return duration;
  }
  const match = /^([0-9]+(?:\.[0-9]+)?)\s*([a-z]+)$/.exec(duration.trim());
  const unit = match ? UNIT_MS[match[2]!] : undefined;
  if (!match || unit === undefined) throw new RangeError(`"${duration}" is not a duration like "1h", "30m" or "90s"`);
  const ms = Math.round(Number(match[1]) * unit);
  // A few hundred digits parse as Infinity: no timer or date can take that.
  if (!Number.isFinite(ms)) throw new RangeError(`"${duration}" is too long a duration`);
  return ms;
}
