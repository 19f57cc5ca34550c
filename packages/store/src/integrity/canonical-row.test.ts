/**
 * The integrity ledger's central promise about rows: the canonical row
 * rebuilt from what ClickHouse returns (`canonicalRow`, through
 * `LogStore.canonicalRows`) is byte for byte the row the ingest path hashed
 * into the batch leaf. A real embedded store (chDB) with the WAL and the
 * ledger, awkward values on purpose: unicode beyond the BMP, combining
 * marks, line and paragraph separators, control characters, quotes and
 * backslashes, lone surrogates (stored as U+FFFD, and a service name cut
 * through an emoji makes one), empty attributes and bodies, 64-bit integers
 * at their limits, numbers that print in exponent form, span events. chDB binds one
 * data dir per process, so one store serves every case here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { decodeLeaf, emptyLogRecord, recordsHash, silentLogger, verifyBundle, type BatchLeaf, type LogBatch, type LogRecord, type Span, type SpanBatch } from '@meshlog/core';
import { openEmbeddedStore } from '../embedded/open-embedded-store.js';
import { IntegrityLedger } from './ledger.js';
import { buildBundle } from './export.js';

const AWKWARD = [
  'plain ascii',
  'ünïcödé 日本語 한국어 עברית العربية',
  'emoji 🚀👩‍👩‍👧‍👦 and a flag 🇳🇿',
  'combining e\u0301 vs \u00e9',
  'separators \u2028 and \u2029 in JSON',
  'controls \u0000\u0001\u001f\t\n\r and DEL \u007f and C1 \u0085',
  'quotes " \' and backslashes \\ \\\\ \\u0041',
  // Valid in a JavaScript string (a JSON body may carry "\ud800"), not in UTF-8: stored as U+FFFD.
  'lone surrogates \ud800 high, \udc00 low, and text \\ud800 that only looks like one',
  '',
  ' '.repeat(3),
  'x'.repeat(70_000),
];

function record(over: Partial<LogRecord>): LogRecord {
  return { ...emptyLogRecord(), ...over };
}

const now = BigInt(Date.now()) * 1_000_000n;
const U64_MAX = 18_446_744_073_709_551_615n;

const logs: LogBatch[] = [
  {
    kind: 'logs',
    tenant: 'acme',
    source: 'otlp',
    records: AWKWARD.map((body, i) =>
      record({
        timeUnixNano: now + BigInt(i),
        observedTimeUnixNano: now + BigInt(i) + 1n,
        severityNumber: (i * 3) % 25,
        severityText: i % 2 ? 'WARN' : 'ünïcode level',
        body,
        attributes: { [`k ${body.slice(0, 20)}`]: body.slice(0, 40), 'n.int': i, 'n.float': 1.5, 'n.exp': 1e21, 'n.tiny': 5e-7, 'b.true': true, 'b.false': false, 'z.empty': '' },
        resource: { 'service.name': `svc ${body.slice(0, 12)}`, 'k8s.namespace.name': 'prod', 'unicode.key.日本': '値' },
        scopeName: 'scope/ü',
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        flags: 1,
      }),
    ),
  },
  {
    kind: 'logs',
    tenant: 'acme',
    source: 'syslog',
    // Empty attributes and resource (no service.name), empty everything else, limits of each integer column.
    records: [
      record({ timeUnixNano: now, observedTimeUnixNano: 0n }),
      record({ timeUnixNano: 4_294_967_295_999_999_999n, observedTimeUnixNano: U64_MAX, severityNumber: 255, flags: 4_294_967_295, body: 'the last second DateTime holds' }),
      record({ timeUnixNano: 1n, observedTimeUnixNano: 1n, body: 'one nanosecond after the epoch', attributes: { 'service.name': 'named by an attribute' } }),
    ],
  },
];

const span = (i: number, over: Partial<Span>): Span => ({
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: `00f067aa0ba902b${i}`,
  parentSpanId: i === 0 ? '' : '00f067aa0ba902b0',
  name: `GET /ünï/${i}`,
  kind: i % 6,
  startTimeUnixNano: now + BigInt(i),
  endTimeUnixNano: now + BigInt(i) + 1_000n,
  attributes: {},
  resource: {},
  statusCode: i % 3,
  statusMessage: '',
  events: [],
  ...over,
});

const spans: SpanBatch[] = [
  {
    kind: 'spans',
    tenant: 'acme',
    source: 'otlp',
    spans: [
      span(0, { resource: { 'service.name': 'checkout' }, attributes: { 'http.route': '/ünï', 'http.status_code': 503 } }),
      span(1, { statusMessage: 'déjà vu 🚀 "quoted"', events: [{ timeUnixNano: now + 5n, name: 'exception', attributes: { 'exception.message': 'line\nbreak \u2028 and 日本' } }] }),
      span(2, { endTimeUnixNano: U64_MAX, events: [{ timeUnixNano: U64_MAX, name: '', attributes: {} }] }),
    ],
  },
];

const audit: LogBatch[] = [{ kind: 'logs', tenant: 'acme', source: 'audit', records: [record({ timeUnixNano: now, body: JSON.stringify({ action: 'logs.query', actor: { name: 'Zoë 🚀' }, query: '{app="a"} |= "\\\\"' }) })] }];

test('canonical rows rebuilt from ClickHouse are the bytes the ledger hashed, for logs, spans and audit records', { timeout: 120_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'meshlog-canonical-row-'));
  const { privateKey } = generateKeyPairSync('ed25519');
  const ledger = IntegrityLedger.open({ dir: join(root, 'data', 'ledger'), signingKey: privateKey, logger: silentLogger });
  const { store } = await openEmbeddedStore({ dataDir: join(root, 'data'), encryption: { kind: 'plaintext' }, readers: 1, wal: { dir: join(root, 'data', 'wal'), logger: silentLogger, ledger } });
  await ledger.start();
  try {
    await store.insert([...logs, ...spans]);
    await store.insertAudit(audit);
    await store.visible();

    const entries = ledger.entries(0, ledger.size);
    const batches = entries.map((e) => ({ e, leaf: decodeLeaf(e.leaf) })).filter((x): x is { e: typeof x.e; leaf: BatchLeaf } => x.leaf.type === 'batch');
    assert.deepEqual(
      batches.map((b) => [b.leaf.table, b.leaf.source, b.leaf.records]),
      [
        ['logs', 'otlp', AWKWARD.length],
        ['logs', 'syslog', 3],
        ['spans', 'otlp', 3],
        ['audit_log', 'audit', 1],
      ],
    );
    for (const { e, leaf } of batches) {
      const stored = await store.canonicalRows(leaf.table, BigInt(leaf.seq), BigInt(leaf.seq));
      const rows: string[] = [];
      for (let r = leaf.row; r < leaf.row + leaf.records; r++) {
        const row = stored.get(`${leaf.seq}:${r}`);
        assert.ok(row !== undefined, `${leaf.table} row ${r} is stored`);
        // Row by row first, so a failure names the value that did not round-trip.
        assert.equal(crc32(row), e.hints.readUInt32LE((r - leaf.row) * 4), `${leaf.table} row ${r} rebuilt differently: ${row.slice(0, 300)}`);
        rows.push(row);
      }
      assert.equal(recordsHash(rows.join('\n')), leaf.records_sha256, `${leaf.table} batch seq ${leaf.seq}`);
    }

    // What a stored row says, read back through JSON: the values themselves survived, not only their hash.
    const first = batches[0]!.leaf;
    const stored = await store.canonicalRows('logs', BigInt(first.seq), BigInt(first.seq));
    const bodies = [...stored.values()].map((r) => (JSON.parse(r) as unknown[])[8]);
    const wellFormed = (v: string): string => v.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
    assert.deepEqual(bodies.slice(0, AWKWARD.length), AWKWARD.map(wellFormed));
    assert.ok(bodies.includes('lone surrogates \ufffd high, \ufffd low, and text \\ud800 that only looks like one'));
    const second = batches[1]!.leaf;
    const limits = JSON.parse((await store.canonicalRows('logs', BigInt(second.seq), BigInt(second.seq))).get(`${second.seq}:${second.row + 1}`)!) as unknown[];
    assert.deepEqual([limits[1], limits[2], limits[6], limits[11]], ['4294967295999999999', String(U64_MAX), 255, 4_294_967_295]);

    // And the whole path the auditor uses: a bundle of it verifies.
    const bundle = await buildBundle(store, ledger, { from: new Date(0), to: new Date(Date.now() + 60_000) });
    const report = verifyBundle(bundle, { trustedKeys: [createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString()] });
    assert.deepEqual(report.findings, []);
    assert.equal(report.recordsChecked, AWKWARD.length + 3 + 3 + 1);
  } finally {
    await store.close();
  }
});
