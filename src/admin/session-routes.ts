/**
 * `GET /api/v1/sessions` (the last SMTP sessions' transcripts, newest first) and
 * `GET /api/v1/sessions/{id}`. See src/server/session-transcripts.ts for what a transcript holds.
 */
import type { FastifyInstance } from 'fastify';
import type { SessionTranscripts } from '../server/session-transcripts.js';

export function registerSessionRoutes(app: FastifyInstance, transcripts: SessionTranscripts): void {
  app.get<{ Querystring: { limit?: string; queueId?: string } }>('/api/v1/sessions', async (req, reply) => {
    const limit = req.query.limit === undefined ? transcripts.capacity : Number(req.query.limit);
    if (!Number.isInteger(limit) || limit < 1)
      return reply.code(400).send({ error: 'limit must be a whole number >= 1' });
    const queueId = req.query.queueId;
    const sessions = transcripts
      .list()
      .filter((s) => queueId === undefined || s.queueIds.includes(queueId))
      .slice(0, limit);
    return { capacity: transcripts.capacity, sessions };
  });
  app.get<{ Params: { id: string } }>('/api/v1/sessions/:id', async (req, reply) => {
    const session = transcripts.get(req.params.id);
    return session ?? reply.code(404).send({ error: `no session ${req.params.id} among the last kept` });
  });
}
