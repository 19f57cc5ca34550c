/**
 * `/loki/api/v1/tail` over a real WebSocket (the `ws` client, as logcli
 * would connect): entries pushed after the tail starts arrive, in Loki's
 * `{streams, dropped_entries}` messages; another tenant's never do; the
 * history since `start` comes first; the upgrade is authenticated; and the
 * session leaves one audit record with the entries it sent.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { TokenStore } from '@meshlog/server';
import { startServerProcess, tempDir, type ServerProcess } from '../helpers/server-process.js';
import { openTail as openTailOn, type OpenTail } from '../helpers/loki-tail-client.js';

let server: ServerProcess;
let otherToken: string;

before(async () => {
  const dataDir = join(tempDir(), 'data');
  mkdirSync(dataDir, { recursive: true });
  otherToken = new TokenStore(dataDir).create('other', ['analyst', 'ingester']);
  server = await startServerProcess({ dataDir });
});

after(async () => {
  await server?.stop();
});

async function push(token: string, app: string, lines: string[]): Promise<void> {
  const now = BigInt(Date.now()) * 1_000_000n;
  const r = await fetch(`${server.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ streams: [{ stream: { app }, values: lines.map((l, i) => [String(now + BigInt(i)), l]) }] }),
  });
  assert.equal(r.status, 204);
}

/** Opens a tail on this suite's server; resolves once the socket is open, collecting every message. */
function openTail(query: string, token: string, params: Record<string, string> = {}): Promise<OpenTail> {
  return openTailOn(server.url, query, token, params);
}

async function until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('entries pushed after the tail starts arrive; another tenant\'s never do', async () => {
  const app = `live-${randomUUID().slice(0, 8)}`;
  await push(server.token, app, ['before the tail']);
  const mine = await openTail(`{app="${app}"}`, server.token, { limit: '10' });
  const theirs = await openTail(`{app="${app}"}`, otherToken);
  try {
    // The history since `start` (default an hour ago) comes first.
    await until('the history', () => mine.lines().includes('before the tail'));
    await push(server.token, app, ['live one', 'live two']);
    await push(otherToken, app, ['other tenant line']);
    await until('the live lines', () => mine.lines().includes('live two'));
    await until("the other tenant's line on its own tail", () => theirs.lines().includes('other tenant line'));
    // A poll or two more: nothing crosses tenants, nothing comes twice.
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(mine.lines(), ['before the tail', 'live one', 'live two']);
    assert.deepEqual(theirs.lines(), ['other tenant line']);
    const stream = mine.messages.find((m) => m.streams.length > 0)!.streams[0]!;
    assert.deepEqual(stream.stream, { app, service_name: app });
    assert.match(stream.values[0]![0], /^\d{19}$/, 'timestamps are nanosecond strings');
  } finally {
    mine.ws.close();
    theirs.ws.close();
  }
  // The session's one audit record: the query and the entries sent.
  const q = new URL(`${server.url}/loki/api/v1/query_range`);
  q.searchParams.set('query', '{meshlog_stream="audit", action="logs.tail", outcome="success"}');
  q.searchParams.set('since', '5m');
  let records: { query: { text: string; rows: number }; status: number }[] = [];
  // The record is written as the session ends, just after the close.
  for (let i = 0; i < 40 && !records.some((r) => r.query.text === `{app="${app}"}`); i++) {
    const r = await fetch(q, { headers: { authorization: `Bearer ${server.token}` } });
    const body = (await r.json()) as { data: { result: { values: [string, string][] }[] } };
    records = body.data.result.flatMap((s) => s.values.map((v) => JSON.parse(v[1]) as { query: { text: string; rows: number }; status: number }));
    await new Promise((res) => setTimeout(res, 250));
  }
  const mineRecord = records.filter((r) => r.query.text === `{app="${app}"}` && r.query.rows === 3);
  assert.equal(mineRecord.length, 1, JSON.stringify(records));
  assert.equal(mineRecord[0]!.status, 101);
});

test('line filters apply to the tail; a metric query or bad parameters are refused before the upgrade, in Loki\'s plain text', async () => {
  const app = `filt-${randomUUID().slice(0, 8)}`;
  const t = await openTail(`{app="${app}"} |= "keep"`, server.token, { start: String(BigInt(Date.now() - 1000) * 1_000_000n) });
  try {
    await push(server.token, app, ['drop me', 'keep me']);
    await until('the kept line', () => t.lines().includes('keep me'));
    await new Promise((r) => setTimeout(r, 800));
    assert.deepEqual(t.lines(), ['keep me']);
  } finally {
    t.ws.close();
  }
  await assert.rejects(openTail('sum(count_over_time({app="x"}[1m]))', server.token), (e: Error & { status?: number; body?: string }) => e.status === 400 && /not a metric query/.test(e.body ?? ''));
  await assert.rejects(openTail('{app="x"}', server.token, { delay_for: '6' }), (e: Error & { status?: number; body?: string }) => e.status === 400 && e.body === "delay_for can't be greater than 5");
  await assert.rejects(openTail('{app="x"}', 'not-a-token'), (e: Error & { status?: number }) => e.status === 401);
  const plain = await fetch(`${server.url}/loki/api/v1/tail?query=${encodeURIComponent('{app="x"}')}`, { headers: { authorization: `Bearer ${server.token}` } });
  assert.equal(plain.status, 400);
  assert.match(await plain.text(), /streams over WebSocket/);
});
