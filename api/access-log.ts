// One access-log line per request: Fastify's default writes two ("incoming request", "request completed") at info,
// which cost a predict request more CPU than scoring it.
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import { isAuthRefusal } from './auth/auth-plugin.js';

/** Logs each request once, when it is answered, with the request fields the incoming line carried. */
export class OneLineRequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    // Refused tokens are counted and summed up by the auth plugin: anyone can send junk, one line each would be a flood.
    if (this.isLogDisabled(request) || isAuthRefusal(request)) return;
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}
