/**
 * Sustained ingest while the server is `kill -9`ed several times mid-stream.
 * The sender behaves like an OTLP exporter: a request without a 2xx (refused,
 * reset, 5xx) is resent unchanged until it gets one. Afterwards every
 * acknowledged record is present exactly once: none lost, none duplicated by
 * the retries (the ingest WAL recognises a resent request by its content),
 * and the integrity ledger survived the kills: `meshlog export` + `meshlog
 * verify` pass, and every acknowledged record is in a batch the verified
 * bundle recomputed (so each is covered by a signed checkpoint).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { freePort, lokiQueryRange, runCli, startServerProcess, tempDir, type ServerProcess } from '../helpers/server-process.js';
import { otlpJsonLogs } from '../helpers/otlp-payloads.js';

test('kill -9 during sustained ingest: every acknowledged record present exactly once, and meshlog verify passes on all of them', { timeout: 180_000 }, async () => {
  const dir = tempDir();
  const dataDir = join(dir, 'data');
  const config = join(dir, 'meshlog.yaml');
  writeFileSync(config, 'limits:\n  max_entries_limit: 100000\n');
  const port = await freePort();
  const start = (): Promise<ServerProcess> => startServerProcess({ dataDir, port, args: ['--config', config] });
  let server = await start();
  const token = server.token;
  const marker = randomUUID();

  const LINES_PER_REQUEST = 25;
  const REQUESTS = 240;
  const bodies = Array.from({ length: REQUESTS }, (_, r) => otlpJsonLogs(Array.from({ length: LINES_PER_REQUEST }, (_, i) => `crash ${marker} req ${r} line ${i}`), { service: 'crashy' }));
  const acked = new Set<number>();
  let attempts = 0;
  let next = 0;
  let restarting: Promise<void> | undefined;

  const sendUntilAcked = async (r: number): Promise<void> => {
    for (;;) {
      attempts++;
      try {
        const res = await fetch(`http://127.0.0.1:${port}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: bodies[r]! });
        await res.arrayBuffer();
        if (res.ok) {
          acked.add(r);
          return;
        }
      } catch {
        // refused or reset by the kill: retry, as an exporter would
      }
      await (restarting ?? new Promise((res) => setTimeout(res, 50)));
    }
  };

  const worker = async (): Promise<void> => {
    while (next < REQUESTS) await sendUntilAcked(next++);
  };

  const killer = async (): Promise<void> => {
    for (const threshold of [50, 110, 170]) {
      while (acked.size < threshold) await new Promise((res) => setTimeout(res, 5));
      let done!: () => void;
      restarting = new Promise<void>((res) => (done = res));
      await server.kill9();
      server = await start();
      done();
      restarting = undefined;
    }
  };

  await Promise.all([worker(), worker(), worker(), worker(), killer()]);
  assert.equal(acked.size, REQUESTS);
  assert.ok(attempts > REQUESTS, 'some requests were cut off by a kill and resent');

  const res = await lokiQueryRange(server, `{service_name="crashy"} |= "${marker}"`, { limit: '100000' });
  assert.equal(res.status, 200);
  const counts = new Map<string, number>();
  for (const s of res.body.data.result) for (const [, line] of s.values) counts.set(line, (counts.get(line) ?? 0) + 1);
  const duplicated = [...counts].filter(([, n]) => n > 1);
  assert.deepEqual(duplicated.slice(0, 5), [], `${duplicated.length} lines stored more than once`);
  for (const r of acked) for (let i = 0; i < LINES_PER_REQUEST; i++) assert.ok(counts.has(`crash ${marker} req ${r} line ${i}`), `acknowledged line req ${r} line ${i} missing`);
  assert.equal(counts.size, REQUESTS * LINES_PER_REQUEST);

  // The ledger after three kills: the bundle verifies, and holds every acknowledged record.
  const bundle = join(dir, 'after-crashes.bundle.jsonl');
  const ex = await runCli(['export', '--server', server.url, '--token', token, '--out', bundle]);
  assert.equal(ex.code, 0, ex.stderr);
  await server.stop();
  const verified = await runCli(['verify', bundle, '--public-key', `${dataDir}-integrity/signing-key.pem.pub`]);
  assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  assert.match(verified.stdout, /PASSED/);
  const inBundle = new Set<string>();
  for (const line of readFileSync(bundle, 'utf8').split('\n')) {
    if (!line.includes(marker)) continue;
    const v = JSON.parse(line) as { kind: string; rows?: string[] };
    if (v.kind !== 'records') continue;
    for (const row of v.rows!) for (const value of JSON.parse(row) as unknown[]) if (typeof value === 'string' && value.includes(marker)) inBundle.add(value);
  }
  const uncovered = [...counts.keys()].filter((l) => !inBundle.has(l));
  assert.deepEqual(uncovered.slice(0, 5), [], `${uncovered.length} acknowledged records are not in a verified batch of the bundle`);
});
