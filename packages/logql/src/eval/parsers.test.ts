// Parser stages with the examples of Loki's log query documentation
// (docs/sources/query/log_queries): json, logfmt, regexp, pattern, unpack.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runPipeline } from './testing/helpers.js';

const labelsOf = (q: string, line: string, labels?: Record<string, string>, metadata?: Record<string, string>) => runPipeline(q, line, labels, metadata)?.labels;

const DOC_JSON = JSON.stringify({
  protocol: 'HTTP/2.0',
  servers: ['129.0.1.1', '10.2.1.3'],
  request: { time: '6.032', method: 'GET', host: 'foo.grafana.net', size: '55', headers: { Accept: '*/*', 'User-Agent': 'curl/7.68.0' } },
  response: { status: 401, size: '228', latency_seconds: '6.031' },
});

describe('| json', () => {
  it('extracts every property, flattening nested objects with _ and skipping arrays (doc example)', () => {
    assert.deepEqual(labelsOf('{job="test"} | json', DOC_JSON), {
      job: 'test',
      protocol: 'HTTP/2.0',
      request_time: '6.032',
      request_method: 'GET',
      request_host: 'foo.grafana.net',
      request_size: '55',
      request_headers_Accept: '*/*',
      request_headers_User_Agent: 'curl/7.68.0',
      response_status: '401',
      response_size: '228',
      response_latency_seconds: '6.031',
    });
  });
  it('sanitises keys: { "a.b": {"c": "d"}, "e": "f" } -> a_b_c, e (doc example)', () => {
    assert.deepEqual(labelsOf('{job="test"} | json', '{ "a.b": {"c": "d"}, "e": "f" }'), { job: 'test', a_b_c: 'd', e: 'f' });
  });
  it('extracts JSON paths with parameters (doc example)', () => {
    assert.deepEqual(labelsOf('{job="test"} | json first_server="servers[0]", ua="request.headers[\\"User-Agent\\"]"', DOC_JSON), {
      job: 'test',
      first_server: '129.0.1.1',
      ua: 'curl/7.68.0',
    });
  });
  it('assigns arrays and objects as JSON text, and `json servers` means servers="servers" (doc example)', () => {
    const line = '{"servers": ["129.0.1.1","10.2.1.3"], "request": {"headers": {"Accept": "*/*", "User-Agent": "curl/7.68.0"}}}';
    assert.deepEqual(labelsOf('{job="test"} | json server_list="servers", headers="request.headers"', line), {
      job: 'test',
      server_list: '["129.0.1.1","10.2.1.3"]',
      headers: '{"Accept": "*/*", "User-Agent": "curl/7.68.0"}',
    });
    assert.deepEqual(labelsOf('{job="test"} | json servers', line), { job: 'test', servers: '["129.0.1.1","10.2.1.3"]' });
  });
  it('sets requested labels that are missing to "", and null values to ""', () => {
    assert.deepEqual(labelsOf('{job="test"} | json a, b="x.y", c', '{"a": null, "c": 3}'), { job: 'test', a: '', b: '', c: '3' });
  });
  it('adds _extracted when a key clashes with a stream label or structured metadata', () => {
    assert.deepEqual(labelsOf('{job="test"} | json', '{"job": "parsed", "trace": "t", "x": {"job": "n"}}', { job: 'test' }, { trace: 'meta' }), {
      job: 'test',
      job_extracted: 'parsed',
      trace: 'meta',
      trace_extracted: 't',
      x_job: 'n',
    });
  });
  it('keeps the first of duplicate keys, and decodes escapes, numbers and booleans', () => {
    assert.deepEqual(labelsOf('{job="test"} | json', '{"a": "1", "a": "2", "s": "tab\\tq\\"\\u00e9", "n": -1.5e3, "b": true, "z": null}'), {
      job: 'test',
      a: '1',
      s: 'tab\tq"é',
      n: '-1.5e3',
      b: 'true',
    });
  });
  it('keeps a line that is not JSON, with __error__ and the parser message', () => {
    assert.deepEqual(labelsOf('{job="test"} | json', 'INFO GET / loki.net 200'), {
      job: 'test',
      __error__: 'JSONParserErr',
      __error_details__: "Value looks like object, but can't find closing '}' symbol",
    });
    // What was parsed before the error stays.
    assert.deepEqual(labelsOf('{job="test"} | json', '{"a": "1", "b": }'), {
      job: 'test',
      a: '1',
      __error__: 'JSONParserErr',
      __error_details__: 'Unknown value type',
    });
    assert.equal(labelsOf('{job="test"} | json a', 'not json')?.__error__, 'JSONParserErr');
  });
  it('can be filtered on __error__ (doc example)', () => {
    assert.equal(runPipeline('{job="test"} | json | __error__ != "JSONParserErr"', 'INFO'), null);
    assert.notEqual(runPipeline('{job="test"} | json | __error__ = ""', '{"a":1}'), null);
  });
});

describe('| logfmt', () => {
  const line = 'at=info method=GET path=/ host=grafana.net fwd="124.133.124.161" service=8ms status=200';
  it('extracts every key (doc example)', () => {
    assert.deepEqual(labelsOf('{job="test"} | logfmt', line), {
      job: 'test',
      at: 'info',
      method: 'GET',
      path: '/',
      host: 'grafana.net',
      fwd: '124.133.124.161',
      service: '8ms',
      status: '200',
    });
  });
  it('extracts and renames only the requested keys (doc example)', () => {
    assert.deepEqual(labelsOf('{job="test"} | logfmt host, fwd_ip="fwd"', line), { job: 'test', host: 'grafana.net', fwd_ip: '124.133.124.161' });
    assert.deepEqual(labelsOf('{job="test"} | logfmt missing', line), { job: 'test', missing: '' });
  });
  it('skips malformed pairs without --strict', () => {
    assert.deepEqual(labelsOf('{job="test"} | logfmt', 'a=1 =value foo=bar=buzz fo"o=bar b="x y" c'), { job: 'test', a: '1', b: 'x y' });
  });
  it('stops at the first malformed pair with --strict and reports where (doc example)', () => {
    assert.deepEqual(labelsOf('{job="test"} | logfmt --strict', 'a=1 foo=bar=buzz b=2'), {
      job: 'test',
      a: '1',
      __error__: 'LogfmtParserErr',
      __error_details__: "logfmt syntax error at pos 12 : unexpected '='",
    });
    assert.equal(labelsOf('{job="test"} | logfmt --strict', 'key=value key2="value in double quotes"')?.key2, 'value in double quotes');
    assert.equal(labelsOf('{job="test"} | logfmt --strict', 'a="unterminated')?.__error_details__, 'logfmt syntax error at pos 16 : unterminated quoted value');
  });
  it('keeps standalone keys and empty values with --keep-empty', () => {
    assert.deepEqual(labelsOf('{job="test"} | logfmt', 'a= b c=1'), { job: 'test', c: '1' });
    assert.deepEqual(labelsOf('{job="test"} | logfmt --keep-empty', 'a= b c=1'), { job: 'test', a: '', b: '', c: '1' });
  });
  it('unescapes quoted values and sanitises keys, with _extracted on clashes', () => {
    assert.deepEqual(labelsOf('{job="test"} | logfmt', 'job=x msg="say \\"hi\\"\\n" user.id=7 1st=y'), {
      job: 'test',
      job_extracted: 'x',
      msg: 'say "hi"\n',
      user_id: '7',
      _1st: 'y',
    });
  });
  it('does not overwrite what an earlier parser extracted', () => {
    assert.deepEqual(labelsOf('{job="test"} | regexp `b=(?P<a>\\d)` | logfmt', 'a=1 b=2'), { job: 'test', a: '2', b: '2' });
    // Explicit extraction is not implicit: it overwrites.
    assert.deepEqual(labelsOf('{job="test"} | regexp `b=(?P<a>\\d)` | logfmt a', 'a=1 b=2'), { job: 'test', a: '1' });
  });
});

describe('| regexp', () => {
  it('extracts named groups (doc example)', () => {
    assert.deepEqual(labelsOf('{job="test"} | regexp "(?P<method>\\\\w+) (?P<path>[\\\\w|/]+) \\\\((?P<status>\\\\d+?)\\\\) (?P<duration>.*)"', 'POST /api/prom/api/v1/query_range (200) 1.5s'), {
      job: 'test',
      method: 'POST',
      path: '/api/prom/api/v1/query_range',
      status: '200',
      duration: '1.5s',
    });
  });
  it('sets "" for a group that did not take part, and nothing when the line does not match', () => {
    assert.deepEqual(labelsOf('{job="test"} | regexp `(?P<a>a)?(?P<b>b)`', 'b'), { job: 'test', a: '', b: 'b' });
    assert.deepEqual(labelsOf('{job="test"} | regexp `(?P<a>x)`', 'b'), { job: 'test' });
  });
});

describe('| pattern', () => {
  it('extracts the NGINX fields of the doc example', () => {
    const line = '0.191.12.2 - - [10/Jun/2021:09:14:29 +0000] "GET /api/plugins/versioncheck HTTP/1.1" 200 2 "-" "Go-http-client/2.0" "13.76.247.102, 34.120.177.193" "TLSv1.2" "US" ""';
    assert.deepEqual(labelsOf('{job="test"} | pattern `<ip> - - <_> "<method> <uri> <_>" <status> <size> <_> "<agent>" <_>`', line), {
      job: 'test',
      ip: '0.191.12.2',
      method: 'GET',
      uri: '/api/plugins/versioncheck',
      status: '200',
      size: '2',
      agent: 'Go-http-client/2.0',
    });
  });
  it('uses <_> to avoid anchoring at the start (doc example)', () => {
    const line = 'level=debug ts=2021-06-10T09:24:13.472094048Z caller=logging.go:66 traceID=0568b66ad2d9294c msg="POST /loki/api/v1/push (204) 16.652862ms"';
    assert.deepEqual(labelsOf('{job="test"} | pattern `<_> msg="<method> <path> (<status>) <latency>"`', line), {
      job: 'test',
      method: 'POST',
      path: '/loki/api/v1/push',
      status: '204',
      latency: '16.652862ms',
    });
  });
  it('is anchored when it starts with a literal, and keeps the captures made before a miss', () => {
    assert.deepEqual(labelsOf('{job="test"} | pattern `GET <path>`', 'POST /x'), { job: 'test' });
    assert.deepEqual(labelsOf('{job="test"} | pattern `<a> <b> | <c>`', 'x y z'), { job: 'test', a: 'x', b: 'y z' });
  });
});

describe('| unpack', () => {
  it('unpacks the embedded labels and replaces the line with _entry (doc example)', () => {
    const out = runPipeline('{job="test"} | unpack', '{"container": "myapp", "pod": "pod-3223f", "_entry": "original log message"}');
    assert.deepEqual(out?.labels, { job: 'test', container: 'myapp', pod: 'pod-3223f' });
    assert.equal(out?.line, 'original log message');
  });
  it('can be followed by another parser on the unpacked line', () => {
    const out = runPipeline('{job="test"} | unpack | logfmt', '{"pod": "p", "_entry": "level=warn msg=x"}');
    assert.deepEqual(out?.labels, { job: 'test', pod: 'p', level: 'warn', msg: 'x' });
  });
  it('reports a line that is not a JSON object', () => {
    assert.deepEqual(labelsOf('{job="test"} | unpack', 'plain'), { job: 'test', __error__: 'JSONParserErr', __error_details__: 'expecting json object(6), but it is not' });
  });
});
