/**
 * What the admin API checks before anything else, so that a web page in the operator's browser
 * cannot use it (the API binds to loopback without a token by default, as Mailpit does):
 *
 * - **Host** (DNS rebinding): a page at `attacker.example` whose name is made to resolve to
 *   127.0.0.1 reaches the API as same-origin, but its requests carry `Host: attacker.example`.
 *   Only `localhost`, an IP address literal (the bound address, 127.0.0.1, [::1] …: an address
 *   cannot be rebound) or a name given with `--admin-hosts` is accepted; anything else gets 421.
 *   With an admin token, the token protects the API and any Host is accepted.
 * - **Cross-site writes** (CSRF): a mutating request (POST, PUT, PATCH, DELETE) whose `Origin` is
 *   another origin than the one asked (`Origin: null` included), or whose `Sec-Fetch-Site` says
 *   `cross-site`/`same-site`, gets 403. A page served by the admin listener itself is same-origin.
 * - **Content type**: a mutating request may carry no body and no content type (the action routes:
 *   hold, release, retry, replay, delete) or JSON; `text/plain`, forms and multipart — the types a
 *   page may send cross-site without a CORS preflight — get 415.
 *
 * Pure: a request's method and headers in, a refusal (status and text) or undefined out.
 */
import net from 'node:net';

export interface GuardRequest {
  method: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface GuardRefusal {
  status: 403 | 415 | 421;
  error: string;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const header = (req: GuardRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** The host name of a Host header value (`[::1]:8025` -> `::1`, `Localhost.:80` -> `localhost`). */
export function hostName(host: string): string | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+))(?::\d{1,5})?$/.exec(host.trim());
  if (!m) return undefined;
  return (m[1] ?? m[2]!).toLowerCase().replace(/\.$/, '');
}

/** Names accepted in Host besides IP literals: localhost and those configured. */
export function allowedHostNames(configured: readonly string[]): Set<string> {
  return new Set(['localhost', ...configured.map((h) => h.trim().toLowerCase().replace(/\.$/, ''))]);
}

export function hostAllowed(host: string | undefined, allowed: ReadonlySet<string>): boolean {
  if (host === undefined) return false;
  const name = hostName(host);
  if (name === undefined) return false;
  return net.isIP(name) !== 0 || allowed.has(name);
}

/** `http://Host:8025` of the request, lower-case, for comparing with an Origin. */
function requestOrigin(host: string): string {
  return `http://${host.trim().toLowerCase()}`;
}

function sameOrigin(origin: string, host: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  if (parsed.protocol !== 'http:') return false;
  let asked: URL;
  try {
    asked = new URL(requestOrigin(host));
  } catch {
    return false;
  }
  return parsed.host === asked.host;
}

function isJson(contentType: string): boolean {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/**
 * `allowed` undefined: any Host is taken. That is for an API with an admin token — the token,
 * which no browser sends on its own, is what protects it, and a Docker or Testcontainers client
 * reaches it by names (`docker`, a compose service) nobody lists in advance.
 */
export function guardRequest(
  req: GuardRequest,
  allowed: ReadonlySet<string> | undefined,
): GuardRefusal | undefined {
  const host = header(req, 'host');
  if (allowed && !hostAllowed(host, allowed)) {
    return {
      status: 421,
      error: `Host ${JSON.stringify(host ?? '')} is not a name of this admin API (localhost, an IP address, or one given with --admin-hosts)`,
    };
  }
  if (!MUTATING.has(req.method.toUpperCase())) return undefined;

  const fetchSite = header(req, 'sec-fetch-site')?.toLowerCase();
  if (fetchSite !== undefined && fetchSite !== 'same-origin' && fetchSite !== 'none') {
    return { status: 403, error: `cross-site request refused (Sec-Fetch-Site: ${fetchSite})` };
  }
  const origin = header(req, 'origin');
  if (origin !== undefined && (host === undefined || !sameOrigin(origin, host))) {
    return { status: 403, error: `cross-site request refused (Origin: ${origin})` };
  }
  const contentType = header(req, 'content-type');
  if (contentType !== undefined && !isJson(contentType)) {
    return {
      status: 415,
      error: `content type ${contentType} refused: send application/json, or no body at all`,
    };
  }
  const length = header(req, 'content-length');
  const hasBody = (length !== undefined && length !== '0') || header(req, 'transfer-encoding') !== undefined;
  if (contentType === undefined && hasBody) {
    return { status: 415, error: 'a request body needs content-type: application/json' };
  }
  return undefined;
}
