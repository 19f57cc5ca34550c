/**
 * The HTTP backend against a fake ClickHouse that records what
 * `@clickhouse/client` sends and answers like 18.16 (or a newer server):
 * settings on the wire, client- vs server-side binding, failover, and the
 * mapping of errors to StoreError. The real 18.16 cluster is exercised by
 * tests/cluster.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StoreError } from '../backend.js';
import { ClickHouseBackend, parseServerError } from './clickhouse-backend.js';

interface Seen {
  params: URLSearchParams;
  body: string;
  headers: IncomingMessage['headers'];
}

interface Fake {
  url: string;
  seen: Seen[];
  server: Server;
  close(): Promise<void>;
}

type Answer = { status?: number; body: string; delayMs?: number };

async function fakeClickHouse(version: string, answer: (sql: string, seen: Seen) => Answer | undefined = () => undefined): Promise<Fake> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const params = new URL(req.url ?? '/', 'http://x').searchParams;
      const s: Seen = { params, body: Buffer.concat(chunks).toString(), headers: req.headers };
      seen.push(s);
      const sql = params.get('query') ?? s.body;
      let a: Answer;
      if (sql.includes('SELECT version()')) a = { body: `{"v":"${version}"}\n` };
      else if (sql.includes('system.clusters')) {
        a = {
          body: [
            { shard_num: 1, replica_num: 1, host_name: 'ch1', host_address: '127.0.0.1', port: 9101 },
            { shard_num: 1, replica_num: 2, host_name: 'ch2', host_address: '127.0.0.1', port: 9201 },
            { shard_num: 2, replica_num: 1, host_name: 'ch3', host_address: '127.0.0.1', port: 9301 },
          ]
            .map((r) => `${JSON.stringify(r)}\n`)
            .join(''),
        };
      } else a = answer(sql, s) ?? { body: '' };
      const send = (): void => {
        res.writeHead(a.status ?? 200, { 'content-type': 'text/plain; charset=UTF-8' });
        res.end(a.body);
      };
      if (a.delayMs) setTimeout(send, a.delayMs);
      else send();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    server,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** A port nobody listens on. */
async function refusedUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return `http://127.0.0.1:${port}`;
}

const ERR_18_16 = (code: number, text: string, cls = 'Exception'): string => `Code: ${code}, e.displayText() = DB::${cls}: ${text}, e.what() = DB::${cls}\n`;

test('on 18.16: parameters are bound client-side; only settings 18.16 knows are sent; 64-bit integers quoted', async () => {
  const fake = await fakeClickHouse('18.16.1', () => ({ body: '{"n":"18446744073709551615"}\n' }));
  const b = new ClickHouseBackend({ urls: [fake.url], username: 'meshlog', password: "s3cr'et", cluster: 'c' });
  try {
    const r = await b.query<{ n: string }>('SELECT n FROM t WHERE tenant = {tenant:String} AND x < {x:UInt64}', { params: { tenant: "a'b", x: '5' }, timeoutMs: 7000 });
    assert.deepEqual(r.rows, [{ n: '18446744073709551615' }]);
    const q = fake.seen.at(-1)!;
    assert.match(q.body, /^SELECT n FROM t WHERE tenant = 'a\\'b' AND x < 5 \s*\nFORMAT JSONEachRow$/);
    const keys = [...q.params.keys()].sort();
    assert.deepEqual(keys, ['insert_distributed_sync', 'insert_distributed_timeout', 'max_execution_time', 'output_format_json_quote_64bit_integers', 'query_id', 'wait_end_of_query']);
    assert.equal(q.params.get('max_execution_time'), '7');
    assert.equal(q.params.get('output_format_json_quote_64bit_integers'), '1');
    assert.equal(q.params.get('wait_end_of_query'), '1');
    // Credentials travel in the Authorization header only.
    assert.equal(q.headers.authorization, `Basic ${Buffer.from("meshlog:s3cr'et").toString('base64')}`);
    assert.ok(!q.params.toString().includes('s3cr'));
  } finally {
    await b.close();
    await fake.close();
  }
});

test('on a newer server: parameters are bound server-side (param_*), the SQL keeps its placeholders', async () => {
  const fake = await fakeClickHouse('24.8.4.13', () => ({ body: '{"n":1}\n' }));
  const b = new ClickHouseBackend({ urls: [fake.url] });
  try {
    await b.query('SELECT 1 AS n WHERE {tenant:String} != \'\'', { params: { tenant: "a'b" } });
    const q = fake.seen.at(-1)!;
    assert.equal(q.params.get('param_tenant'), "a\\'b");
    assert.match(q.body, /\{tenant:String\}/);
    // No cluster: no Distributed insert settings.
    assert.equal(q.params.get('insert_distributed_sync'), null);
  } finally {
    await b.close();
    await fake.close();
  }
});

test('exec binds client-side on every version and waits for the end of DDL; inserts send positional rows as keyed JSONEachRow, synchronously to the shards', async () => {
  const fake = await fakeClickHouse('24.8.4.13');
  const b = new ClickHouseBackend({ urls: [fake.url], cluster: 'c', requestTimeoutMs: 20_000 });
  try {
    await b.exec('INSERT INTO db.m (v, d) VALUES ({v:UInt32}, {d:String})', { params: { v: 1, d: 'x' } });
    let q = fake.seen.at(-1)!;
    assert.equal(q.body, "INSERT INTO db.m (v, d) VALUES (1, 'x')");
    assert.equal(q.params.get('wait_end_of_query'), '1');
    assert.equal(q.params.get('distributed_ddl_task_timeout'), '18');
    const rows = Buffer.from('[1,"x"]\n[2,"y\\n"]');
    await b.insertRows('db.logs', ['a', 'b'], rows);
    q = fake.seen.at(-1)!;
    assert.equal(q.params.get('query'), 'INSERT INTO db.logs FORMAT JSONEachRow');
    assert.equal(q.body, '{"a":1,"b":"x"}\n{"a":2,"b":"y\\n"}');
    assert.equal(q.params.get('insert_distributed_sync'), '1');
    assert.equal(q.params.get('insert_distributed_timeout'), '19');
    await assert.rejects(b.insertRows('db.logs; DROP TABLE x', ['a'], rows), /invalid table name/);
  } finally {
    await b.close();
    await fake.close();
  }
});

test('a server that refuses connections is skipped; the one that answered stays preferred', async () => {
  const fake = await fakeClickHouse('18.16.1', () => ({ body: '{"n":1}\n' }));
  const dead = await refusedUrl();
  const b = new ClickHouseBackend({ urls: [dead, fake.url] });
  try {
    await b.query('SELECT 1 AS n');
    const before = fake.seen.length;
    await b.query('SELECT 1 AS n');
    assert.equal(fake.seen.length, before + 1);
  } finally {
    await b.close();
    await fake.close();
  }
});

test('no server reachable: unavailable, naming each address', async () => {
  const [a, c] = [await refusedUrl(), await refusedUrl()];
  const b = new ClickHouseBackend({ urls: [a, c], password: 'hunter2' });
  try {
    await assert.rejects(b.query('SELECT 1'), (err: unknown) => {
      assert.ok(err instanceof StoreError);
      assert.equal(err.code, 'unavailable');
      assert.match(err.message, new RegExp(`${new URL(a).host} \\(connection refused\\), ${new URL(c).host} \\(connection refused\\)`));
      assert.doesNotMatch(err.message, /hunter2/);
      return true;
    });
  } finally {
    await b.close();
  }
});

test('a shard that is down (18.16 error text) becomes unavailable, naming the shard from system.clusters', async () => {
  const body = ERR_18_16(
    279,
    'All connection tries failed. Log: \n\nCode: 210, e.displayText() = DB::NetException: Connection refused (127.0.0.1:9301), e.what() = DB::NetException\nCode: 210, e.displayText() = DB::NetException: Connection refused (127.0.0.1:9301), e.what() = DB::NetException\n\n',
    'NetException',
  );
  const fake = await fakeClickHouse('18.16.1', () => ({ status: 500, body }));
  const b = new ClickHouseBackend({ urls: [fake.url], cluster: 'meshlog_test' });
  try {
    await assert.rejects(b.query('SELECT count() FROM db.logs'), (err: unknown) => {
      assert.ok(err instanceof StoreError);
      assert.equal(err.code, 'unavailable');
      assert.equal(err.message, 'cluster meshlog_test: shard 2 (replica 1, 127.0.0.1:9301) unavailable (connection refused); retry when it is back');
      return true;
    });
  } finally {
    await b.close();
    await fake.close();
  }
});

test('timeouts: the server\'s TIMEOUT_EXCEEDED and our own timer both become timeout', async () => {
  const fake = await fakeClickHouse('18.16.1', (sql) =>
    sql.includes('slow') ? { body: '{}\n', delayMs: 5_000 } : { status: 500, body: ERR_18_16(159, 'Timeout exceeded: elapsed 1.000000043 seconds, maximum: 1') },
  );
  const b = new ClickHouseBackend({ urls: [fake.url] });
  try {
    await assert.rejects(b.query('SELECT fast', { timeoutMs: 1000 }), (err: unknown) => err instanceof StoreError && err.code === 'timeout' && /Timeout exceeded/.test(err.message));
    const started = Date.now();
    await assert.rejects(b.query('SELECT slow', { timeoutMs: 200 }), (err: unknown) => err instanceof StoreError && err.code === 'timeout');
    assert.ok(Date.now() - started < 4_000);
    const abort = new AbortController();
    const p = b.query('SELECT slow', { timeoutMs: 10_000, signal: abort.signal });
    setTimeout(() => abort.abort(), 100);
    await assert.rejects(p, (err: unknown) => err instanceof StoreError && err.code === 'cancelled');
  } finally {
    await b.close();
    await fake.close();
  }
});

test('error mapping: wrong password, scan limit, unfinished distributed DDL, plain query errors', async () => {
  const answers: Record<string, string> = {
    auth: ERR_18_16(193, 'Wrong password for user meshlog'),
    limit: ERR_18_16(158, 'Limit for rows to read exceeded: 8192 rows read (or to read), maximum: 1'),
    ddl: ERR_18_16(159, 'Watching task /clickhouse/task_queue/ddl/query-0000000015 is executing longer than distributed_ddl_task_timeout (=3) seconds. There are 1 unfinished hosts (0 of them are currently active), they are going to execute the query in background'),
    bad: ERR_18_16(62, 'Syntax error: failed at position 8'),
    modern: "Code: 60. DB::Exception: Table db.nope does not exist. (UNKNOWN_TABLE) (version 24.8.4.13 (official build))\n",
  };
  const fake = await fakeClickHouse('18.16.1', (sql) => ({ status: 500, body: answers[/SELECT (\w+)/.exec(sql)?.[1] ?? /CREATE (\w+)/.exec(sql)?.[1] ?? ''] ?? '' }));
  const b = new ClickHouseBackend({ urls: [fake.url], username: 'meshlog', password: 'pw-not-shown' });
  const expect = async (p: Promise<unknown>, code: string, re: RegExp): Promise<void> =>
    assert.rejects(p, (err: unknown) => {
      assert.ok(err instanceof StoreError, String(err));
      assert.equal(err.code, code, err.message);
      assert.match(err.message, re);
      assert.doesNotMatch(err.message, /pw-not-shown/);
      return true;
    });
  try {
    await expect(b.query('SELECT auth'), 'unavailable', /refused the login of user "meshlog"/);
    await expect(b.query('SELECT limit'), 'limit', /Limit for rows to read exceeded/);
    await expect(b.exec('CREATE ddl'), 'unavailable', /did not run the distributed DDL in time/);
    await expect(b.query('SELECT bad'), 'query', /Syntax error: failed at position 8/);
    await expect(b.query('SELECT modern'), 'query', /Table db\.nope does not exist/);
  } finally {
    await b.close();
    await fake.close();
  }
});

test('parseServerError reads both ClickHouse error formats', () => {
  assert.deepEqual(parseServerError(new Error(ERR_18_16(60, 'Table x.y doesn\'t exist.'))), { code: 60, message: "Table x.y doesn't exist." });
  assert.deepEqual(parseServerError(new Error('Code: 81. DB::Exception: Database nope does not exist. (UNKNOWN_DATABASE) (version 23.8.1)')), {
    code: 81,
    message: 'Database nope does not exist. (UNKNOWN_DATABASE) (version 23.8.1)',
  });
  assert.deepEqual(parseServerError(new Error('socket hang up')), { code: undefined, message: 'socket hang up' });
});
