/**
 * `GET /api/v1/settings`: every setting the relay runs with, its flag, value and default — the
 * admin token only as "set" or "none".
 */
import type { FastifyInstance } from 'fastify';
import type { RelayConfig } from '../config/relay-config.js';
import { formatHostPort, type HostPort } from '../config/host-port.js';
import { SETTINGS, flagName } from '../config/settings.js';

const SECRET = new Set<string>(['adminToken']);

function shown(value: unknown): unknown {
  if (value === undefined) return null;
  if (Array.isArray(value)) return value.map(shown);
  if (value && typeof value === 'object') {
    if ('host' in value && 'port' in value) return formatHostPort(value as HostPort);
    if ('source' in value) return (value as { source: unknown }).source;
  }
  return value;
}

export function registerSettingsRoutes(app: FastifyInstance, config: RelayConfig): void {
  app.get('/api/v1/settings', async () => ({
    settings: SETTINGS.map((s) => {
      const value = (config as unknown as Record<string, unknown>)[s.key];
      return {
        key: s.key,
        flag: `--${flagName(s.key)}`,
        value: SECRET.has(s.key) ? (value ? 'set' : 'none') : shown(value),
        default: s.defaultText,
        description: s.description,
      };
    }),
  }));
}
