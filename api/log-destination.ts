// Where the API's pino lines go: stdout through a buffer. Unbuffered, each request's access line was its own write
// handed to libuv's thread pool: about a fifth of a one-row predict request's CPU (bench/serve/README.md).
import pino from 'pino';

/** Lines wait at most this long in the buffer, so a quiet API's log still reads as it happens. */
const FLUSH_EVERY_MS = 1000;

/**
 * stdout (or `fd`), written in ≥ 32 KiB chunks off the event loop; the lines of one event-loop turn are handed to
 * the writer (sonic-boom) joined, once: it measures the UTF-8 length of its whole pending chunk on every write, which
 * per line cost more than building the line (in a logging microbenchmark, 5–6 µs per line before, ~3.3 µs after).
 * Every line still pending is written synchronously when the process exits.
 */
export function bufferedStdout(fd = 1): pino.DestinationStream & { flush(callback?: (error?: Error) => void): void; flushSync(): void } {
  let lines: string[] = [];
  let handOffScheduled = false;
  // Registered before the writer exists, so on exit this runs before pino's own synchronous flush of it; if another
  // writer's exit hook ran first, the flushSync below still writes what this hands over.
  const handOver = () => {
    handOffScheduled = false;
    if (lines.length === 0 || destroyed()) return;
    const text = lines.length === 1 ? lines[0]! : lines.join('');
    lines = [];
    destination.write(text);
  };
  process.on('exit', () => {
    handOver();
    if (!destroyed()) destination.flushSync();
  });
  const destination = pino.destination({ dest: fd, sync: false, minLength: 32 * 1024, maxWrite: 64 * 1024 });
  // Once the process is ending pino destroys it; a later hand-over has nothing to write to.
  const destroyed = () => (destination as { destroyed?: boolean }).destroyed === true;
  const timer = setInterval(() => {
    handOver();
    if (!destroyed()) destination.flush();
  }, FLUSH_EVERY_MS);
  timer.unref();
  return {
    write(line: string) {
      lines.push(line);
      if (!handOffScheduled) {
        handOffScheduled = true;
        setImmediate(handOver);
      }
    },
    flush(callback?: (error?: Error) => void) {
      handOver();
      destination.flush(callback);
    },
    flushSync() {
      handOver();
      destination.flushSync();
    },
  };
}
