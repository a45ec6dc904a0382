// The CLI's one way to the API: JSON in and out, the API's error message (never a stack) in a CliError whose exit
// code says whether the request was refused (4xx), or the server failed or could not be reached.
import { CliError, EXIT_CODES, usageError } from './cli-errors.js';

export interface ApiErrorBody {
  error?: { code?: string; message?: string; details?: Record<string, unknown> };
}

export class KeelApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly key: string | undefined,
    private readonly timeoutMs = 60_000,
  ) {}

  async request<T>(method: string, path: string, options: { body?: unknown; headers?: Record<string, string>; form?: FormData } = {}): Promise<T> {
    if (!this.key) throw usageError('no API key: run `keel login`, or set KEEL_API_KEY, or pass --key');
    const headers: Record<string, string> = { authorization: `Bearer ${this.key}`, ...options.headers };
    let body: string | FormData | undefined;
    if (options.form) body = options.form;
    else if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, { method, headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (error as Error).message;
      throw new CliError(`cannot reach the Keel API at ${this.baseUrl} (${why})`, EXIT_CODES.serverOrNetwork);
    }
    const text = await response.text();
    let parsed: unknown = undefined;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    if (!response.ok) throw apiError(response.status, parsed as ApiErrorBody | undefined, text);
    return parsed as T;
  }

  get<T>(path: string) {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body?: unknown, headers?: Record<string, string>) {
    return this.request<T>('POST', path, { body, headers });
  }
}

function apiError(status: number, body: ApiErrorBody | undefined, text: string): CliError {
  const exitCode = status >= 500 ? EXIT_CODES.serverOrNetwork : EXIT_CODES.apiError;
  const error = body?.error;
  if (!error?.message) {
    return new CliError(`the API answered HTTP ${status}${text ? `: ${text.slice(0, 300)}` : ''}`, exitCode);
  }
  const field = typeof error.details?.field === 'string' ? ` [${error.details.field}]` : '';
  return new CliError(`${error.message}${field} (${error.code ?? 'ERROR'}, HTTP ${status})`, exitCode, error.code);
}

/** A query string from the defined values only. */
export function queryString(values: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) if (value !== undefined && value !== '') params.set(name, String(value));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}
