/**
 * The push client against real HTTP servers on loopback: `timeout_ms`
 * bounds the whole exchange, so a server that keeps trickling its answer
 * (each byte resetting an idle timer) cannot hold a batch forever, and an
 * answer cut off mid-way is a retryable transport error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@meshlog/core';
import { PushClient, PushTransportError } from './push-client.js';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function client(endpoint: string): PushClient {
  return new PushClient({ endpoint, headers: {}, label: 'test sink', logger: createLogger({ level: 'error' }) });
}

test('an answer trickled byte by byte past timeout_ms fails as a timeout', { timeout: 10_000 }, async () => {
  const timers: NodeJS.Timeout[] = [];
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' });
    // A byte every 50 ms, for ever: the idle timeout (250 ms) never fires.
    timers.push(setInterval(() => res.write('.'), 50).unref());
  });
  // Should the deadline ever regress, the test fails by its own timeout instead of holding the process open.
  server.unref();
  const c = client(await listen(server));
  try {
    await assert.rejects(c.post('/v1/logs', Buffer.from('x'), {}, 250, new AbortController().signal), (err: unknown) => err instanceof PushTransportError && err.code === 'ETIMEDOUT' && /no complete answer within 250 ms/.test(err.message));
  } finally {
    for (const t of timers) clearInterval(t);
    c.close();
    server.closeAllConnections();
    server.close();
  }
});

test('an answer cut off by the server is a retryable transport error; a whole answer resolves', async () => {
  const server = createServer((req, res) => {
    req.resume();
    if (req.url === '/cut') {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  const c = client(await listen(server));
  try {
    await assert.rejects(c.post('/cut', Buffer.from('x'), {}, 5000, new AbortController().signal), (err: unknown) => err instanceof PushTransportError);
    const ok = await c.post('/whole', Buffer.from('x'), {}, 5000, new AbortController().signal);
    assert.equal(ok.status, 200);
    assert.equal(ok.body.toString(), '{"ok":true}');
  } finally {
    c.close();
    server.closeAllConnections();
    server.close();
  }
});
