export interface HostPort {
  host: string;
  port: number;
}

/**
 * Parses `HOST:PORT`, `[::1]:PORT` or `:PORT` (all interfaces). Returns a message that says what
 * is wrong instead of throwing: a bad value is an expected outcome of reading user input.
 */
export function parseHostPort(value: string): HostPort | string {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(value.trim());
  if (!match) return 'expected HOST:PORT (e.g. 127.0.0.1:2525, [::1]:2525, :2525)';
  const port = Number(match[3]);
  if (port > 65535) return `port ${port} is out of range (0-65535)`;
  const host = match[1] ?? (match[2] || '0.0.0.0');
  return { host, port };
}

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
