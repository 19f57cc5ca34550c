/**
 * The hand-written OTLP log encoder against protobufjs's decoder of the
 * official .proto: every field, UTF-8, negative and large integers,
 * doubles, grouping by resource and scope, and the attribute cache (the
 * same key and value reused across records and calls).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LogRecord } from '@meshlog/core';
import { encodeOtlpLogs } from './otlp-encode.js';
import { otlpType } from '../../sources/otlp/otlp-proto.js';

const T = otlpType('ExportLogsServiceRequest');
const decode = (buf: Buffer): unknown => T.toObject(T.decode(buf), { longs: String, bytes: String, defaults: false });

function record(over: Partial<LogRecord>): LogRecord {
  return { timeUnixNano: 0n, observedTimeUnixNano: 0n, severityNumber: 0, severityText: '', body: '', attributes: {}, resource: {}, scopeName: '', scopeVersion: '', traceId: '', spanId: '', flags: 0, ...over };
}

test('every field decodes to what was encoded; records are grouped by resource and scope', () => {
  const res = { 'service.name': 'cart', 'host.count': 5 };
  const buf = encodeOtlpLogs([
    record({
      timeUnixNano: 1_700_000_000_000_000_001n,
      observedTimeUnixNano: 1_700_000_000_000_000_002n,
      severityNumber: 9,
      severityText: 'INFO',
      body: 'héllo ✓ 😀',
      attributes: { a: 'x', neg: -3, pi: 1.5, yes: true, big: 2 ** 40, 'event.name': 'order.placed' },
      resource: res,
      scopeName: 'lib',
      scopeVersion: '1.2',
      traceId: '0102030405060708090a0b0c0d0e0f10',
      spanId: '0102030405060708',
      flags: 1,
    }),
    record({ observedTimeUnixNano: 5n, body: 'y'.repeat(300), attributes: { a: 'x' }, resource: { other: 'r' } }),
    record({ observedTimeUnixNano: 6n, resource: res, scopeName: 'lib', scopeVersion: '1.2' }),
  ]);
  assert.deepEqual(decode(buf), {
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'cart' } }, { key: 'host.count', value: { intValue: '5' } }] },
        scopeLogs: [
          {
            scope: { name: 'lib', version: '1.2' },
            logRecords: [
              {
                timeUnixNano: '1700000000000000001',
                severityNumber: 9,
                severityText: 'INFO',
                body: { stringValue: 'héllo ✓ 😀' },
                attributes: [
                  { key: 'a', value: { stringValue: 'x' } },
                  { key: 'neg', value: { intValue: '-3' } },
                  { key: 'pi', value: { doubleValue: 1.5 } },
                  { key: 'yes', value: { boolValue: true } },
                  { key: 'big', value: { intValue: '1099511627776' } },
                ],
                flags: 1,
                traceId: Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex').toString('base64'),
                spanId: Buffer.from('0102030405060708', 'hex').toString('base64'),
                observedTimeUnixNano: '1700000000000000002',
                eventName: 'order.placed',
              },
              { body: { stringValue: '' }, observedTimeUnixNano: '6' },
            ],
          },
        ],
      },
      {
        resource: { attributes: [{ key: 'other', value: { stringValue: 'r' } }] },
        scopeLogs: [{ logRecords: [{ body: { stringValue: 'y'.repeat(300) }, attributes: [{ key: 'a', value: { stringValue: 'x' } }], observedTimeUnixNano: '5' }] }],
      },
    ],
  });
});

test('many records with repeated attributes (the cache) and long multi-byte bodies round-trip', () => {
  const records = Array.from({ length: 5000 }, (_, i) =>
    record({ observedTimeUnixNano: BigInt(i + 1), body: `${'ü'.repeat(i % 200)} line ${i}`, attributes: { 'log.file.path': `/var/log/app-${i % 7}.log`, n: i, 'log.truncated': i % 2 === 0 } }),
  );
  const out = decode(encodeOtlpLogs(records)) as { resourceLogs: { scopeLogs: { logRecords: { body: { stringValue: string }; attributes: { key: string; value: Record<string, unknown> }[] }[] }[] }[] };
  const got = out.resourceLogs[0]!.scopeLogs[0]!.logRecords;
  assert.equal(got.length, records.length);
  for (let i = 0; i < records.length; i += 97) {
    assert.equal(got[i]!.body.stringValue, records[i]!.body);
    assert.deepEqual(got[i]!.attributes[0], { key: 'log.file.path', value: { stringValue: `/var/log/app-${i % 7}.log` } });
    assert.deepEqual(got[i]!.attributes[1], { key: 'n', value: { intValue: String(i) } });
  }
});
