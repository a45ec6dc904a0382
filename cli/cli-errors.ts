// The exit codes scripts can rely on, and the one error type that carries them to the top.
export const EXIT_CODES = {
  ok: 0,
  /** The API refused the request (4xx): its message is printed. */
  apiError: 1,
  /** The command line itself is wrong: unknown command or option, a missing or unreadable file. */
  usage: 2,
  /** The server failed (5xx) or could not be reached. */
  serverOrNetwork: 3,
  /** `runs start --wait` / `runs watch`: the run ended without deploying or awaiting review (failed, rejected, …). */
  runDidNotSucceed: 4,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    /** The API's error code, when the API answered. */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string) => new CliError(message, EXIT_CODES.usage);
