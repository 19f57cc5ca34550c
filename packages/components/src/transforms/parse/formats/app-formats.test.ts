/**
 * Application log formats: JSON (zap, pino, logrus, structlog, slog, ECS,
 * Python), logfmt, user regex and Loki patterns; the well-known keys
 * (level, time, trace context, message) and the transform's options.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyLogRecord, type LogRecord } from '@meshlog/core';
import { ParseTransform } from '../parse-transform.js';
import { ParseConfigSchema } from '../config.js';
import { PatternMatcher, parsePattern } from './pattern.js';
import { scanLogfmt } from './structured.js';

function run(line: string, opts: Record<string, unknown> = {}, init: Partial<LogRecord> = {}): { r: LogRecord; outcome: string } {
  const t = new ParseTransform(ParseConfigSchema.parse(opts));
  const r: LogRecord = { ...emptyLogRecord(), body: line, ...init };
  return { r, outcome: t.parseRecord(r) };
}

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const T0 = BigInt(Date.parse('2024-05-01T10:40:00Z')) * 1_000_000n;

test('zap production JSON: level, epoch-seconds ts, message, trace ids, fields', () => {
  const { r } = run(JSON.stringify({ level: 'error', ts: 1714560000.25, caller: 'cart/handler.go:88', msg: 'charge failed', trace_id: TRACE, span_id: SPAN, order_id: 'o-77', attempt: 3, retryable: false }));
  assert.equal(r.severityNumber, 17);
  assert.equal(r.severityText, 'error');
  assert.equal(r.timeUnixNano, T0 + 250_000_000n);
  assert.equal(r.traceId, TRACE);
  assert.equal(r.spanId, SPAN);
  assert.deepEqual(r.attributes, { caller: 'cart/handler.go:88', order_id: 'o-77', attempt: 3, retryable: false, 'log.format': 'json' }, 'msg stays in the body only');
});

test('pino: numeric level, epoch-ms time, nested err flattened, trace_flags', () => {
  const { r } = run(JSON.stringify({ level: 40, time: 1714560000123, pid: 7, hostname: 'web-1', trace_id: TRACE, span_id: SPAN, trace_flags: '01', err: { type: 'TimeoutError', message: 'upstream', details: { code: 'ETIMEDOUT' } }, tags: ['a', 'b'], msg: 'slow' }));
  assert.equal(r.severityNumber, 13);
  assert.equal(r.severityText, 'WARN');
  assert.equal(r.timeUnixNano, T0 + 123_000_000n);
  assert.equal(r.flags, 1);
  assert.deepEqual(r.attributes, { pid: 7, hostname: 'web-1', 'err.type': 'TimeoutError', 'err.message': 'upstream', 'err.details.code': 'ETIMEDOUT', tags: '["a","b"]', 'log.format': 'json' });
});

test('structlog/Python, ECS and OTel-style keys; Datadog and B3 ids', () => {
  assert.equal(run('{"event": "saved", "level": "warning", "logger": "orders", "timestamp": "2024-05-01T10:40:00.000000Z"}').r.severityNumber, 13);
  const ecs = run(JSON.stringify({ '@timestamp': '2024-05-01T10:40:00Z', log: { level: 'ERROR' }, message: 'x', trace: { id: TRACE }, span: { id: SPAN } })).r;
  assert.equal(ecs.severityNumber, 17, 'log.level after flattening');
  assert.equal(ecs.traceId, TRACE);
  assert.equal(ecs.spanId, SPAN);
  assert.equal(ecs.timeUnixNano, T0);
  const dd = run(JSON.stringify({ level: 'info', dd: { trace_id: '5208512171318403364', span_id: '12345' } })).r;
  assert.equal(dd.traceId, '000000000000000048485a3953bb6124');
  assert.equal(dd.spanId, '0000000000003039');
  const b3 = run(JSON.stringify({ 'x-b3-traceid': 'a3ce929d0e0e4736', 'x-b3-spanid': SPAN, 'x-b3-sampled': '1', 'x-request-id': 'req-1' })).r;
  assert.equal(b3.traceId, '0000000000000000a3ce929d0e0e4736');
  assert.equal(b3.flags, 1);
  assert.equal(b3.attributes['http.request.header.x-request-id'], 'req-1');
  const single = run(JSON.stringify({ b3: `${TRACE}-${SPAN}-1` })).r;
  assert.equal(single.traceId, TRACE);
  const tp = run(JSON.stringify({ traceparent: `00-${TRACE}-${SPAN}-00`, trace_id: 'ffffffffffffffffffffffffffffffff' })).r;
  assert.equal(tp.traceId, TRACE, 'traceparent wins over a plain trace_id');
  const bad = run(JSON.stringify({ trace_id: 'not-a-trace', span_id: 'zz' })).r;
  assert.equal(bad.traceId, '', 'an invalid id is ignored, never an error');
  const sev = run(JSON.stringify({ severity_number: 18, message: 'x' })).r;
  assert.equal(sev.severityNumber, 18);
  assert.equal(sev.severityText, 'ERROR2');
});

test('logfmt (logrus text formatter, go-kit), quoted values with escapes, flags', () => {
  const { r } = run(`time="2024-05-01T10:40:00Z" level=warning msg="slow \\"checkout\\" request" duration=812ms path=/api/cart user="a b" cached trace_id=${TRACE} span_id=${SPAN}`);
  assert.equal(r.severityNumber, 13);
  assert.equal(r.severityText, 'warning');
  assert.equal(r.timeUnixNano, T0);
  assert.equal(r.traceId, TRACE);
  assert.deepEqual(r.attributes, { duration: '812ms', path: '/api/cart', user: 'a b', cached: '', 'log.format': 'logfmt' });
  const pairs: [string, string][] = [];
  assert.equal(scanLogfmt('a=1 b="x y" c= d', (k, v) => pairs.push([k, v])), 3);
  assert.deepEqual(pairs, [['a', '1'], ['b', 'x y'], ['c', ''], ['d', '']]);
  assert.equal(scanLogfmt('no pairs here', () => {}), -1);
  assert.equal(run('just some words = here').outcome, 'unrecognized', 'auto does not take prose for logfmt');
  assert.equal(run('x', { format: 'logfmt' }).outcome, 'no_match');
});

test('target prefix, parsing an attribute, when, max_fields, too_long, trailing newline', () => {
  const pre = run('{"user":"u1","level":"info"}', { target: 'attributes.app' }).r;
  assert.deepEqual(pre.attributes, { 'app.user': 'u1', 'log.format': 'json' });
  assert.equal(pre.severityNumber, 9);

  const fromAttr = run('', { field: 'attributes.message', format: 'logfmt' }, { attributes: { message: 'a=1 b=2' } }).r;
  assert.equal(fromAttr.attributes['a'], '1');
  assert.equal(run('', { field: 'attributes.message', format: 'json' }).outcome, 'missing_field');

  const t = new ParseTransform(ParseConfigSchema.parse({ when: { attributes: { 'log.source': 'envoy' }, resource: { 'k8s.namespace.name': ['shop', 'pay'] } } }));
  const yes: LogRecord = { ...emptyLogRecord(), body: '{"a":1}', attributes: { 'log.source': 'envoy' }, resource: { 'k8s.namespace.name': 'pay' } };
  const no: LogRecord = { ...emptyLogRecord(), body: '{"a":1}', attributes: { 'log.source': 'app' }, resource: { 'k8s.namespace.name': 'pay' } };
  t.process({ kind: 'logs', tenant: 't', source: 's', records: [yes, no] });
  assert.equal(yes.attributes['a'], 1);
  assert.equal(no.attributes['a'], undefined);

  const many = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, i]));
  const capped = run(JSON.stringify(many), { max_fields: 4 }).r;
  assert.equal(Object.keys(capped.attributes).filter((k) => k.startsWith('k')).length, 4);
  assert.equal(capped.attributes['parse.truncated'], true);

  assert.equal(run(`{"a":"${'x'.repeat(100)}"}`, { max_line_length: 50 }).outcome, 'too_long');
  assert.equal(run('x'.repeat(100), { max_line_length: 50 }).outcome, 'unrecognized', 'auto: a long plain line is no error');
  assert.equal(run('{"level":"debug"}\r\n').r.severityNumber, 5);
});

test('Loki pattern syntax: captures, skips, leading literal, partial match, errors', () => {
  const line = '203.0.113.9 - - [01/May/2024:10:40:00 +0000] "GET /api/cart?x=1 HTTP/1.1" 503 91 "-" "curl/8.5.0"';
  const { r } = run(line, { format: 'pattern', pattern: '<client> - <_> [<ts>] "<method> <path> <_>" <status> <size> <_>' });
  assert.deepEqual(r.attributes, { client: '203.0.113.9', ts: '01/May/2024:10:40:00 +0000', method: 'GET', path: '/api/cart?x=1', status: '503', size: '91' });
  const caps: string[] = [];
  const m = new PatternMatcher('level=<level> msg=<msg>');
  assert.equal(m.match('level=info msg=hello world', (n, v) => caps.push(`${n}:${v}`)), true);
  assert.deepEqual(caps, ['level:info', 'msg:hello world']);
  assert.equal(m.match('nope', () => {}), false, 'a leading literal must start the line');
  const partial: string[] = [];
  new PatternMatcher('<a> | <b> | <c>').match('x | y', (n, v) => partial.push(`${n}:${v}`));
  assert.deepEqual(partial, ['a:x', 'b:y'], "Loki's partial match: a missing literal ends the captures");
  assert.equal(run('zzz', { format: 'pattern', pattern: '[<ts>] <msg>' }).outcome, 'no_match');
  assert.throws(() => parsePattern('<a><b>'), /consecutive/);
  assert.throws(() => parsePattern('<a> <a>'), /duplicate/);
  assert.throws(() => parsePattern('no captures <_>'), /at least one named capture/);
  assert.deepEqual(parsePattern('<1x> <ok>'), [{ literal: '<1x> ' }, { capture: 'ok' }], 'not a name: a literal');
  // Captures named like well-known keys become record fields.
  const f = run('2024-05-01T10:40:00Z ERROR boom', { format: 'pattern', pattern: '<time> <level> <_>' }).r;
  assert.equal(f.timeUnixNano, T0);
  assert.equal(f.severityNumber, 17);
});

test('regex: named groups, no match, unsafe patterns refused at config time', () => {
  const ok = run('GET /x 200', { format: 'regex', regex: '^(?<method>[A-Z]+) (?<path>\\S+) (?<status>\\d{3})$' });
  assert.deepEqual(ok.r.attributes, { method: 'GET', path: '/x', status: '200' });
  assert.equal(run('nope', { format: 'regex', regex: '^(?<status>\\d{3})$' }).outcome, 'no_match');
  const unsafe = ParseConfigSchema.safeParse({ format: 'regex', regex: '^(?<a>(a+)+)$' });
  assert.equal(unsafe.success, false);
  assert.match(unsafe.error!.issues[0]!.message, /backtrack/);
  assert.deepEqual(unsafe.error!.issues[0]!.path, ['regex']);
  assert.equal(ParseConfigSchema.safeParse({ format: 'regex', regex: '^(?<a>(a+)+)$', allow_backtracking_regex: true }).success, true);
  assert.equal(ParseConfigSchema.safeParse({ format: 'regex', regex: '(unclosed' }).success, false);
  assert.equal(ParseConfigSchema.safeParse({ format: 'regex', regex: '^\\d+$' }).success, false, 'no named group');
  assert.equal(ParseConfigSchema.safeParse({ format: 'regex' }).success, false);
  assert.equal(ParseConfigSchema.safeParse({ format: 'json', pattern: '<a>' }).success, false, 'a pattern without format: pattern is a mistake');
  assert.equal(ParseConfigSchema.safeParse({ format: 'xml' }).success, false);
  assert.equal(ParseConfigSchema.safeParse({ formt: 'json' }).success, false, 'unknown keys are refused');
});
