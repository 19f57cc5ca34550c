/**
 * An acknowledged batch survives `kill -9`: send, get the 2xx, SIGKILL the
 * server at once, restart it on the same data dir, find every record.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { linesOf, lokiQueryRange, startServerProcess, tempDir } from '../helpers/server-process.js';
import { otlpJsonLogs } from '../helpers/otlp-payloads.js';

test('every acknowledged record survives kill -9, across several kills', async () => {
  const dataDir = tempDir();
  const acknowledged: string[] = [];
  for (let round = 0; round < 3; round++) {
    const server = await startServerProcess({ dataDir });
    const marker = randomUUID();
    const lines = Array.from({ length: 200 }, (_, i) => `round ${round} line ${i} ${marker}`);
    // Several concurrent requests, so some share a group commit.
    const chunks = [lines.slice(0, 50), lines.slice(50, 100), lines.slice(100, 150), lines.slice(150)];
    const results = await Promise.all(
      chunks.map((chunk) =>
        fetch(`${server.url}/v1/logs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
          body: otlpJsonLogs(chunk, { service: 'durable' }),
        }),
      ),
    );
    for (const r of results) assert.equal(r.status, 200);
    acknowledged.push(...lines);
    await server.kill9();
  }
  const server = await startServerProcess({ dataDir });
  try {
    const res = await lokiQueryRange(server, '{service_name="durable"}', { limit: '5000' });
    const got = linesOf(res.body);
    assert.equal(got.length, acknowledged.length, 'no acknowledged record lost, none duplicated');
    assert.deepEqual(new Set(got), new Set(acknowledged));
  } finally {
    await server.stop();
  }
});
