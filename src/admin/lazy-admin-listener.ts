/**
 * The admin API's listener: a plain node:http server that listens from the start and loads the
 * fastify application on the first request (fastify is some 10 MB a relay that is never asked
 * anything does not need).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { HostPort } from '../config/host-port.js';

export interface AdminListener {
  address: HostPort;
  close(): Promise<void>;
}

export function listenAdmin(at: HostPort, load: () => Promise<FastifyInstance>): Promise<AdminListener> {
  let app: Promise<FastifyInstance> | undefined;
  const server = http.createServer((req, res) => {
    app ??= load().then(async (a) => {
      await a.ready();
      return a;
    });
    app.then(
      (a) => a.routing(req, res),
      (err: Error) => {
        res.statusCode = 500;
        res.end(JSON.stringify({ error: `the admin API could not start: ${err.message}` }));
      },
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      const address = server.address() as AddressInfo;
      resolve({
        address: { host: address.address, port: address.port },
        close: async () => {
          await new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections(); // event streams stay open otherwise
          });
          if (app) await (await app).close();
        },
      });
    });
  });
}
