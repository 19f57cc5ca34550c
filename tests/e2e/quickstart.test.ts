/**
 * The README's promise: `meshlog server --demo` produces live mesh traffic,
 * and `meshlog query '{service_name=~".+"} |= "GET"' --since 5m` prints
 * demo access-log lines, finding the token in the data dir by itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, startServerProcess, tempDir } from '../helpers/server-process.js';
import { join } from 'node:path';

test('server --demo + meshlog query prints Istio access log lines', async () => {
  const dataDir = join(tempDir(), 'data');
  const server = await startServerProcess({ dataDir, args: ['--demo', '--demo-rate', '20'] });
  try {
    let lines: string[] = [];
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const r = await runCli(['query', '{service_name=~".+"} |= "GET"', '--since', '5m', '--data-dir', dataDir, '--server', server.url]);
      assert.equal(r.code, 0, r.stderr);
      lines = r.stdout.split('\n').filter(Boolean);
      if (lines.length >= 20) break;
      await new Promise((res) => setTimeout(res, 500));
    }
    assert.ok(lines.length >= 20, `expected demo lines, got ${lines.length}:\n${server.output()}`);
    // Istio's default TEXT access log format: [START_TIME] "METHOD PATH PROTOCOL" CODE FLAGS ...
    const istioText = /^\[\d{4}-\d{2}-\d{2}T[\d:.]+Z\] "GET \S+ HTTP\/[\d.]+" \d{3} \S+ /;
    assert.ok(lines.some((l) => istioText.test(l)), `no Istio TEXT access log line among:\n${lines.slice(0, 5).join('\n')}`);
    assert.ok(lines.every((l) => l.includes('GET')));
  } finally {
    await server.stop();
  }
});
