// The HTTP server around the app: bounds for slow clients, the error envelope on Node's own errors, and drain.

import http, { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Config } from './config';

export interface KvServer {
  server: http.Server;
  /**
   * Stops accepting connections and finishes requests in flight: each in-flight response (and any
   * that arrives on a connection still open) goes out with `Connection: close`, and idle
   * keep-alive connections are closed at once instead of holding the server open. `onClosed` runs
   * when the last connection has closed.
   */
  drain(onClosed: () => void): void;
}

type Timeouts = Pick<Config, 'headersTimeoutMs' | 'requestTimeoutMs' | 'keepAliveTimeoutMs'>;

/**
 * What a client gets when Node's parser refuses its request before the app sees it, in the same
 * envelope as every other error. The `code` is the closest of the error table's.
 */
function clientErrorAnswer(code: string | undefined, timeouts: Timeouts): [status: number, message: string] {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return [431, 'The request line and headers are too large.'];
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, `The request was not received in time (headers within ${timeouts.headersTimeoutMs} ms, all of it within ${timeouts.requestTimeoutMs} ms).`];
    default:
      return [400, 'The request is not valid HTTP/1.1.'];
  }
}

function onClientError(timeouts: Timeouts) {
  return (error: NodeJS.ErrnoException, socket: Duplex) => {
    const pending = (socket as Duplex & { _httpMessage?: http.ServerResponse })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || pending?.headersSent) {
      socket.destroy();
      return;
    }
    const [status, message] = clientErrorAnswer(error.code, timeouts);
    const body = JSON.stringify({ error: { code: 'invalid_request', message } });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  };
}

/**
 * An http.Server for `app` with explicit bounds: the request line and headers must arrive within
 * `headersTimeoutMs` (slowloris), the whole request within `requestTimeoutMs` (a trickled body),
 * and an idle keep-alive connection is closed after `keepAliveTimeoutMs` (longer than a load
 * balancer's idle timeout, so the balancer closes first and never reuses a connection we closed).
 */
export function createKvServer(app: http.RequestListener, timeouts: Timeouts): KvServer {
  let draining = false;
  const inFlight = new Set<http.ServerResponse>();
  const server = http.createServer(
    {
      headersTimeout: timeouts.headersTimeoutMs,
      requestTimeout: timeouts.requestTimeoutMs,
      // The timeouts above are checked this often (Node's default is every 30 s).
      connectionsCheckingInterval: Math.min(1000, timeouts.headersTimeoutMs),
      // A request without Host gets the app's answer, not a bare 400 from Node.
      requireHostHeader: false,
    },
    (req, res) => {
      if (draining) res.setHeader('Connection', 'close');
      inFlight.add(res);
      res.once('close', () => inFlight.delete(res));
      app(req, res);
    },
  );
  server.keepAliveTimeout = timeouts.keepAliveTimeoutMs;
  server.on('clientError', onClientError(timeouts));
  // An Expect other than 100-continue: Node would answer a bare 417; answer it in the envelope.
  server.on('checkExpectation', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    const body = JSON.stringify({ error: { code: 'invalid_request', message: 'The only Expect this API meets is 100-continue.' } });
    res.writeHead(417, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
    res.end(body);
  });

  return {
    server,
    drain(onClosed) {
      draining = true;
      for (const res of inFlight) {
        if (!res.headersSent) res.setHeader('Connection', 'close');
        else res.once('finish', () => setImmediate(() => server.closeIdleConnections()));
      }
      server.close(() => onClosed());
      server.closeIdleConnections();
    },
  };
}
