/**
 * JSON request bodies validated by strict zod schemas: a body that is not
 * JSON, an unknown key or a bad value is a 400 naming the field.
 */
import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { ApiError } from './errors.js';

/** A JSON body validated by a strict schema; a 400 names the field on failure. */
export function parseJsonBody<T>(req: FastifyRequest, schema: z.ZodType<T>): T {
  const raw = req.body;
  const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : typeof raw === 'string' ? raw : '';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ApiError('bad_request', `request body is not valid JSON: ${(err as Error).message}`);
  }
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') throw new ApiError('bad_request', `invalid body: unknown key ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`);
  throw new ApiError('bad_request', `invalid body: ${path || '<root>'}: ${issue.message}`);
}
