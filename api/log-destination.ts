// Where the API's pino lines go: stdout through a 4 KiB buffer. Unbuffered, each request's access line was its own
// write handed to libuv's thread pool: about a fifth of a one-row predict request's CPU (bench/serve/README.md).
import pino from 'pino';

/** Lines wait at most this long in the buffer, so a quiet API's log still reads as it happens. */
const FLUSH_EVERY_MS = 1000;

/** stdout (or `fd`), written in ≥ 4 KiB chunks off the event loop; pino flushes it synchronously when the process exits. */
export function bufferedStdout(fd = 1): pino.DestinationStream {
  const destination = pino.destination({ dest: fd, sync: false, minLength: 4096 });
  const timer = setInterval(() => {
    // Once the process is ending pino destroys it; a later tick has nothing to write.
    if (!(destination as { destroyed?: boolean }).destroyed) destination.flush();
  }, FLUSH_EVERY_MS);
  timer.unref();
  return destination;
}
