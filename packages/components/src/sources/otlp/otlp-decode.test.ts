import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeOtlpLogs, decodeOtlpTraces, encodingOf, OtlpDecodeError } from './otlp-decode.js';
import { otlpType } from './otlp-proto.js';

const NOW = 1_700_000_000_000_000_000n;

function protoLogs(obj: object): Buffer {
  const t = otlpType('ExportLogsServiceRequest');
  return Buffer.from(t.encode(t.fromObject(obj)).finish());
}

test('protobuf logs decode to the model: ids to hex, fixed64 to bigint, AnyValue flattened', () => {
  const body = protoLogs({
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
        scopeLogs: [
          {
            scope: { name: 'lib', version: '1.2' },
            logRecords: [
              {
                timeUnixNano: '1700000000123456789',
                severityNumber: 17,
                severityText: 'ERROR',
                body: { kvlistValue: { values: [{ key: 'msg', value: { stringValue: 'boom' } }] } },
                attributes: [
                  { key: 'http.response.status_code', value: { intValue: 503 } },
                  { key: 'ok', value: { boolValue: false } },
                  { key: 'tags', value: { arrayValue: { values: [{ stringValue: 'a' }, { doubleValue: 1.5 }] } } },
                ],
                traceId: Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex'),
                spanId: Buffer.from('b7ad6b7169203331', 'hex'),
                flags: 1,
              },
            ],
          },
        ],
      },
    ],
  });
  const d = decodeOtlpLogs(body, 'protobuf', NOW);
  assert.equal(d.rejected, 0);
  const r = d.records[0]!;
  assert.equal(r.timeUnixNano, 1700000000123456789n);
  assert.equal(r.observedTimeUnixNano, NOW);
  assert.equal(r.severityNumber, 17);
  assert.equal(r.body, '{"msg":"boom"}');
  assert.deepEqual(r.attributes, { 'http.response.status_code': 503, ok: false, tags: '["a",1.5]' });
  assert.equal(r.traceId, '0af7651916cd43dd8448eb211c80319c');
  assert.equal(r.spanId, 'b7ad6b7169203331');
  assert.equal(r.flags, 1);
  assert.equal(r.scopeName, 'lib');
  assert.deepEqual(r.resource, { 'service.name': 'checkout' });
});

test('JSON logs: hex ids, string int64, missing time takes observed time; bad records are rejected one by one', () => {
  const body = Buffer.from(
    JSON.stringify({
      resourceLogs: [
        {
          scopeLogs: [
            {
              logRecords: [
                { body: { stringValue: 'no time' }, traceId: '0AF7651916CD43DD8448EB211C80319C' },
                { timeUnixNano: 'soon', body: { stringValue: 'bad time' } },
                { timeUnixNano: '1', severityNumber: 99 },
                { observedTimeUnixNano: 5, body: { intValue: '42' }, spanId: '0000000000000000' },
              ],
            },
          ],
        },
      ],
    }),
  );
  const d = decodeOtlpLogs(body, 'json', NOW);
  assert.equal(d.records.length, 2);
  assert.equal(d.rejected, 2);
  assert.match(d.firstError!, /resourceLogs\[0\]\.scopeLogs\[0\]\.logRecords\[1\]\.timeUnixNano: expected a decimal integer string/);
  assert.equal(d.records[0]!.timeUnixNano, NOW);
  assert.equal(d.records[0]!.traceId, '0af7651916cd43dd8448eb211c80319c');
  assert.equal(d.records[1]!.timeUnixNano, 5n);
  assert.equal(d.records[1]!.body, '42');
  assert.equal(d.records[1]!.spanId, '', 'an all-zero span id means none');
});

test('whole-request problems throw OtlpDecodeError with a message naming them', () => {
  assert.throws(() => decodeOtlpLogs(Buffer.from('{"resourceLogs": {}}'), 'json', NOW), /resourceLogs: expected an array/);
  assert.throws(() => decodeOtlpLogs(Buffer.from('[1]'), 'json', NOW), /expected an object/);
  assert.throws(() => decodeOtlpLogs(Buffer.from('{'), 'json', NOW), OtlpDecodeError);
  assert.throws(() => decodeOtlpLogs(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), 'protobuf', NOW), /invalid OTLP protobuf/);
});

test('spans decode with parent, kind, status and events', () => {
  const t = otlpType('ExportTraceServiceRequest');
  const body = Buffer.from(
    t
      .encode(
        t.fromObject({
          resourceSpans: [
            {
              resource: { attributes: [{ key: 'service.name', value: { stringValue: 'frontend' } }] },
              scopeSpans: [
                {
                  spans: [
                    {
                      traceId: Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex'),
                      spanId: Buffer.from('b7ad6b7169203331', 'hex'),
                      parentSpanId: Buffer.from('00f067aa0ba902b7', 'hex'),
                      name: 'GET /cart',
                      kind: 2,
                      startTimeUnixNano: '1700000000000000000',
                      endTimeUnixNano: '1700000000250000000',
                      status: { code: 2, message: 'upstream reset' },
                      events: [{ timeUnixNano: '1700000000100000000', name: 'retry' }],
                    },
                    { name: 'no ids' },
                  ],
                },
              ],
            },
          ],
        }),
      )
      .finish(),
  );
  const d = decodeOtlpTraces(body, 'protobuf');
  assert.equal(d.spans.length, 1);
  assert.equal(d.rejected, 1);
  const s = d.spans[0]!;
  assert.equal(s.parentSpanId, '00f067aa0ba902b7');
  assert.equal(s.kind, 2);
  assert.equal(s.endTimeUnixNano - s.startTimeUnixNano, 250_000_000n);
  assert.equal(s.statusCode, 2);
  assert.equal(s.events[0]!.name, 'retry');
});

test('content types map to encodings', () => {
  assert.equal(encodingOf('application/x-protobuf'), 'protobuf');
  assert.equal(encodingOf('application/json; charset=utf-8'), 'json');
  assert.equal(encodingOf('text/plain'), undefined);
});
