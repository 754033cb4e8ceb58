/**
 * The web page (built by `npm run build` from ui/ into dist/ui/): `GET /` and its files under
 * `/assets/`. Found when the admin API loads (its first request); read from disk on each request, never held in memory, so a relay whose page nobody
 * opens pays nothing for it. The page and its assets need no admin token (they hold no data; the
 * page asks for the token and sends it with every API call).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * This file's folder, as candidates. The file is compiled twice, to ESM (dist/) and to CommonJS
 * (dist/cjs/), and `import.meta` cannot be written in a file the CommonJS build compiles: there
 * `__dirname` is the answer; in ESM the file's own URL is read from a stack frame.
 */
function ownFolders(): string[] {
  const folders: string[] = [];
  if (typeof __dirname === 'string') folders.push(__dirname);
  const frame = new Error().stack?.split('\n')[1] ?? '';
  const file = /\(?((?:file:\/\/)?\/[^():]+):\d+:\d+\)?\s*$/.exec(frame)?.[1];
  if (file) folders.push(path.dirname(file.startsWith('file:') ? fileURLToPath(file) : file));
  return folders;
}

/**
 * dist/ui/: the first of ../../dist/ui (from dist/admin, or from src/admin when tests run the
 * sources) and ../../ui (from dist/cjs/admin) that holds the built page — its index.html and its
 * assets/ (the sources in ui/ have the one but not the other).
 */
export function pageDir(): string {
  const candidates = ownFolders().flatMap((here) =>
    ['../../dist/ui', '../../ui'].map((p) => path.resolve(here, p)),
  );
  const built = (dir: string) =>
    fs.existsSync(path.join(dir, 'index.html')) && fs.existsSync(path.join(dir, 'assets'));
  return candidates.find(built) ?? candidates[0] ?? 'dist/ui';
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

/**
 * The page's policy: its own scripts only, nothing from elsewhere. A message's HTML is shown in a
 * sandboxed iframe (srcdoc, no scripts) that inherits this policy; images from the web are allowed
 * here so that the viewer can load them when the user asks (it adds a stricter policy of its own
 * to the message otherwise).
 */
const PAGE_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob: http: https:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Paths that are the page (and its token check), open without the admin token. */
export function isPagePath(url: string): boolean {
  const p = url.split('?')[0]!;
  return (
    p === '/' ||
    p === '/index.html' ||
    p === '/favicon.svg' ||
    p === '/api/v1/auth' ||
    p.startsWith('/assets/')
  );
}

async function sendFile(reply: FastifyReply, file: string, cache: string): Promise<FastifyReply> {
  let body: Buffer;
  try {
    body = await fsp.readFile(file);
  } catch {
    return reply.code(404).send({
      error:
        path.basename(file) === 'index.html'
          ? 'the web page is not built (npm run build builds it into dist/ui/)'
          : 'no such file',
    });
  }
  return reply
    .header('content-type', TYPES[path.extname(file)] ?? 'application/octet-stream')
    .header('cache-control', cache)
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', PAGE_POLICY)
    .send(body);
}

export function registerPageRoutes(
  app: FastifyInstance,
  tokenAccepted: (authorization: string | undefined) => boolean | undefined,
  dir = pageDir(),
): void {
  // whether a token is needed and whether the one sent is right, always 200, so that the page can
  // ask for the token before its first real call (a 401 would be a console error in the browser)
  app.get('/api/v1/auth', async (req) => {
    const accepted = tokenAccepted(req.headers.authorization);
    return { required: accepted !== undefined, accepted: accepted ?? true };
  });
  const index = (_req: unknown, reply: FastifyReply) =>
    sendFile(reply, path.join(dir, 'index.html'), 'no-cache');
  app.get('/', index);
  app.get('/index.html', index);
  app.get('/favicon.svg', (_req, reply) => sendFile(reply, path.join(dir, 'favicon.svg'), 'max-age=3600'));
  app.get<{ Params: { file: string } }>('/assets/:file', (req, reply) => {
    const file = req.params.file;
    if (!/^[\w][\w.-]*$/.test(file)) return reply.code(404).send({ error: 'no such file' });
    // the names carry a content hash: they never change
    return sendFile(reply, path.join(dir, 'assets', file), 'public, max-age=31536000, immutable');
  });
}
