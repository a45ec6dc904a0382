// A secured front for the plain test dev server, as a real cluster's ingress would be: it terminates TLS (requiring a
// client certificate its CA signed, when given one), refuses gRPC calls without the expected API key, and forwards
// the rest over HTTP/2 to Temporal. It records what each call carried so a test can check what arrived.
import http2 from 'node:http2';
import type { TLSSocket } from 'node:tls';

export interface TlsGrpcGateway {
  address: string;
  /** Per forwarded or refused call: its path, authorization header and the client certificate's CN (if any). */
  calls: { path: string; authorization: string | undefined; clientCertificate: string | undefined }[];
  close(): Promise<void>;
}

export interface TlsGrpcGatewayOptions {
  target: string;
  cert: Buffer;
  key: Buffer;
  /** Require client certificates signed by this CA (mTLS). */
  clientCa?: Buffer;
  /** Require `authorization: Bearer <apiKey>`. */
  apiKey?: string;
}

export async function startTlsGrpcGateway(options: TlsGrpcGatewayOptions): Promise<TlsGrpcGateway> {
  const upstream = http2.connect(`http://${options.target}`);
  upstream.on('error', () => undefined);
  const calls: TlsGrpcGateway['calls'] = [];
  const server = http2.createSecureServer({
    cert: options.cert,
    key: options.key,
    ...(options.clientCa ? { ca: options.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    const socket = stream.session?.socket as TLSSocket | undefined;
    const authorization = headers.authorization;
    const subject = socket?.getPeerCertificate()?.subject as { CN?: string } | undefined;
    calls.push({ path: String(headers[':path']), authorization, clientCertificate: subject?.CN });
    stream.on('error', () => undefined);
    if (options.apiKey !== undefined && authorization !== `Bearer ${options.apiKey}`) {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16', 'grpc-message': 'api key refused' }, { endStream: true });
      return;
    }
    const forwarded: http2.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(headers)) {
      if (name === ':scheme' || name === 'authorization') continue;
      forwarded[name] = value;
    }
    const request = upstream.request(forwarded);
    request.on('error', () => stream.destroy());
    stream.on('close', () => request.close());
    stream.pipe(request);
    let trailers: http2.OutgoingHttpHeaders = {};
    request.on('response', (responseHeaders) => {
      const plain = { ...responseHeaders };
      if (responseHeaders['grpc-status'] !== undefined) {
        // A trailers-only answer (an error): hand it on as one.
        stream.respond(plain, { endStream: true });
        request.close();
        return;
      }
      stream.respond(plain, { waitForTrailers: true });
      request.pipe(stream);
    });
    request.on('trailers', (received) => (trailers = received));
    stream.on('wantTrailers', () => stream.sendTrailers(trailers));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    calls,
    close: async () => {
      upstream.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Long polls of a worker keep sessions open: end them so close does not wait for their timeout.
        for (const session of sessions) session.destroy();
      });
    },
  };
}
