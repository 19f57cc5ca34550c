// Line filters, label filters and ip() matching, with the examples of Loki's
// log query and "Matching IP addresses" documentation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runPipeline } from './testing/helpers.js';
import { compileIpPattern, containsMatchingIp } from './ip-match.js';

const keeps = (q: string, line: string, labels?: Record<string, string>) => runPipeline(q, line, labels) !== null;

describe('line filters', () => {
  it('|= and != are case-sensitive substring tests, chained as and (doc example)', () => {
    const q = '{job="mysql"} |= "error" != "timeout"';
    assert.ok(keeps(q, 'an error happened'));
    assert.ok(!keeps(q, 'an error: timeout'));
    assert.ok(!keeps(q, 'an ERROR happened'));
  });
  it('|~ and !~ are unanchored RE2 searches (doc examples)', () => {
    assert.ok(keeps('{name="kafka"} |~ "tsdb-ops.*io:2003"', 'x tsdb-ops-1.io:2003 y'));
    assert.ok(keeps('{name="cassandra"} |~ `error=\\w+`', 'msg error=timeout'));
    assert.ok(!keeps('{name="cassandra"} |~ `error=\\w+`', 'msg error= none'));
    assert.ok(keeps('{a="b"} |~ "(?i)error"', 'An ERROR'));
    assert.ok(!keeps('{a="b"} !~ "err|warn"', 'a warning'));
  });
  it('or: |= passes if any alternative matches, != only if none does', () => {
    assert.ok(keeps('{a="b"} |= "foo" or "bar"', 'xbarx'));
    assert.ok(!keeps('{a="b"} |= "foo" or "bar"', 'xbazx'));
    assert.ok(!keeps('{a="b"} != "foo" or "bar"', 'xbarx'));
    assert.ok(keeps('{a="b"} != "foo" or "bar"', 'xbazx'));
  });
  it('an empty filter matches every line', () => {
    assert.ok(keeps('{a="b"} |= ""', 'anything'));
    assert.ok(keeps('{a="b"} |~ ""', ''));
  });
  it('applies to the line as earlier stages rewrote it', () => {
    assert.ok(keeps('{a="b"} | logfmt | line_format "{{.msg}}" |= "hello"', 'msg=hello level=x'));
    assert.ok(!keeps('{a="b"} | logfmt | line_format "{{.level}}" |= "hello"', 'msg=hello level=x'));
  });
  it('ip() matches addresses, not substrings (doc example)', () => {
    const lines = ['3.180.71.3 - - [17/May/2015:08:05:32 +0000] "GET /downloads/product_1 HTTP/1.1" 304 0', '93.180.71.3 - - [17/May/2015:08:05:26 +0000] "GET /downloads/product_1 HTTP/1.1" 404 324'];
    assert.deepEqual(lines.map((l) => keeps('{job_name="myapp"} |= "3.180.71.3"', l)), [true, true]);
    assert.deepEqual(lines.map((l) => keeps('{job_name="myapp"} |= ip("3.180.71.3")', l)), [true, false]);
    assert.ok(keeps('{job_name="myapp"} |= ip("192.168.4.5/16")', 'from 192.168.9.1 ok'));
    assert.ok(!keeps('{job_name="myapp"} != ip("192.168.4.5-192.168.4.20")', 'client 192.168.4.7'));
    assert.ok(keeps('{job_name="myapp"} != ip("192.168.4.5-192.168.4.20")', 'client 192.168.4.21'));
    assert.ok(keeps('{a="b"} |= ip("2001:db8::/32")', 'v6 peer [2001:db8::1]:443'));
    assert.ok(keeps('{a="b"} |= ip("::1")', 'lo ::1 up'));
  });
});

describe('ip matching', () => {
  const m = (pattern: string) => {
    const c = compileIpPattern(pattern);
    assert.equal(typeof c, 'function', String(c));
    return c as Exclude<typeof c, string>;
  };
  it('never mixes families and refuses bad patterns', () => {
    assert.ok(!containsMatchingIp('::ffff:10.0.0.1', m('10.0.0.0/8')));
    assert.ok(containsMatchingIp('10.0.0.1', m('10.0.0.0/8')));
    assert.ok(!containsMatchingIp('010.0.0.1', m('10.0.0.1')));
    assert.equal(compileIpPattern('10.0.0.300'), 'ip: invalid pattern: "10.0.0.300"');
    assert.equal(typeof compileIpPattern('10.0.0.9-10.0.0.1'), 'string');
  });
});

describe('label filters', () => {
  const line = 'duration=25ms size=20KB method=POST status=500 latency=1.5 addr=192.168.4.2';
  it('and binds tighter than or; , and juxtaposition are and (doc example)', () => {
    for (const q of [
      '{a="b"} | logfmt | duration >= 20ms or size == 20KB and method!~"2.."',
      '{a="b"} | logfmt | duration >= 20ms or size == 20KB , method!~"2.."',
      '{a="b"} | logfmt | duration >= 20ms or size == 20KB  method!~"2.."',
      '{a="b"} | logfmt | duration >= 20ms or (size == 20KB and method!~"2..")',
    ]) {
      assert.ok(keeps(q, line), q);
      assert.ok(keeps(q, 'duration=1ms size=20KB method=GET'), q);
      assert.ok(!keeps(q, 'duration=1ms size=21KB method=GET'), q);
    }
    assert.ok(!keeps('{a="b"} | logfmt | (duration >= 20ms or size == 20KB) and method!~"P.*"', line));
  });
  it('compares durations, bytes and numbers after converting the label (doc example)', () => {
    assert.ok(keeps('{a="b"} | logfmt | duration > 1m and bytes_consumed > 20MB', 'duration=2m bytes_consumed=21MB'));
    assert.ok(!keeps('{a="b"} | logfmt | duration > 1m and bytes_consumed > 20MB', 'duration=2m bytes_consumed=20MB'));
    assert.ok(keeps('{a="b"} | logfmt | latency == 1.5 | status >= 500 | status != 404', line));
    assert.ok(keeps('{a="b"} | logfmt | duration = 0.025s', line));
    assert.ok(keeps('{a="b"} | logfmt | size <= 20480B', line));
  });
  it('drops lines without the label for conversions, but compares a missing label as "" for strings', () => {
    assert.ok(!keeps('{a="b"} | logfmt | missing > 1', line));
    assert.ok(keeps('{a="b"} | logfmt | missing = ""', line));
    assert.ok(keeps('{a="b"} | logfmt | missing =~ ""', line));
    assert.ok(!keeps('{a="b"} | logfmt | missing != ""', line));
  });
  it('string regexes are fully anchored', () => {
    assert.ok(keeps('{a="b"} | logfmt | method =~ "PO.*"', line));
    assert.ok(!keeps('{a="b"} | logfmt | method =~ "O.*"', line));
  });
  it('keeps a line whose value does not convert, marking it LabelFilterErr', () => {
    const out = runPipeline('{a="b"} | logfmt | method > 10', line);
    assert.equal(out?.labels.__error__, 'LabelFilterErr');
    assert.equal(out?.labels.__error_details__, 'strconv.ParseFloat: parsing "POST": invalid syntax');
    assert.equal(runPipeline('{a="b"} | logfmt | method > 1s', line)?.labels.__error_details__, 'time: invalid duration "POST"');
    assert.equal(runPipeline('{a="b"} | logfmt | method > 1KB', line)?.labels.__error_details__, 'strconv.ParseFloat: parsing "": invalid syntax');
    // A first error is not overwritten.
    assert.equal(runPipeline('{a="b"} | json | logfmt | method > 10', line)?.labels.__error__, 'JSONParserErr');
  });
  it('only string matchers see __error__ (doc note)', () => {
    assert.ok(!keeps('{a="b"} | json | __error__ > 0', 'not json'));
    assert.ok(keeps('{a="b"} | json | __error__ = "JSONParserErr"', 'not json'));
  });
  it('ip() label filters, chained and with or (doc examples)', () => {
    const q = (f: string) => `{job_name="myapp"} | logfmt | ${f}`;
    assert.ok(keeps(q('remote_addr = ip("2001:db8::1-2001:db8::8") | level = "error"'), 'remote_addr=2001:db8::5 level=error'));
    assert.ok(keeps(q('addr = ip("192.168.4.5/16") | addr != ip("192.168.4.2")'), 'addr=192.168.7.7'));
    assert.ok(!keeps(q('addr = ip("192.168.4.5/16") | addr != ip("192.168.4.2")'), 'addr=192.168.4.2'));
    assert.ok(keeps(q('addr = ip("192.168.4.0/24") or addr = ip("10.10.15.0/24")'), 'addr=10.10.15.3'));
    assert.ok(!keeps(q('addr = ip("192.168.4.0/24") or addr = ip("10.10.15.0/24")'), 'addr=10.10.16.3'));
    // An ip() filter keeps lines that already carry an error (doc note).
    assert.ok(keeps('{a="b"} | json | addr = ip("10.0.0.0/8")', 'not json'));
  });
});
