/**
 * The HTTP listener caps open connections (`server.max_connections`): past
 * the cap, a new connection is closed at once, and the server keeps serving
 * the connections it has.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServerProcess, tempDir } from '../helpers/server-process.js';

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

function closedWithin(s: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    s.once('close', () => (clearTimeout(t), resolve(true)));
  });
}

test('connections past server.max_connections are refused; the others keep working', async () => {
  const dir = tempDir();
  const config = join(dir, 'meshlog.yaml');
  writeFileSync(config, 'server:\n  max_connections: 3\n');
  const server = await startServerProcess({ dataDir: join(dir, 'data'), args: ['--config', config] });
  const held: Socket[] = [];
  try {
    for (let i = 0; i < 3; i++) held.push(await open(server.port));
    const extra = await open(server.port);
    assert.equal(await closedWithin(extra, 2000), true, 'the fourth connection is closed by the server');
    // An existing connection still gets answers.
    const reply = await new Promise<string>((resolve) => {
      let data = '';
      held[0]!.on('data', (d: Buffer) => {
        data += d.toString();
        if (data.includes('\r\n\r\n')) resolve(data);
      });
      held[0]!.write('GET /ready HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    assert.match(reply, /^HTTP\/1\.1 200/);
  } finally {
    for (const s of held) s.destroy();
    await server.stop();
  }
});
