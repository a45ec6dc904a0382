// One access-log line per request: Fastify's default writes two ("incoming request", "request completed") at info,
// which cost a predict request more CPU than scoring it.
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/** Logs each request once, when it is answered, with the request fields the incoming line carried. */
export class OneLineRequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}
