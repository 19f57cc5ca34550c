import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SqlBindError, bindParams, formatLiteral, quoteString } from './sql-literals.js';

/**
 * Reads one ClickHouse string literal the way its lexer does (backslash
 * escapes, `''` as a quote) and returns the value and where the literal
 * ended: the checks below rely on it to prove no value ends a literal early.
 */
function readClickHouseString(sql: string, start = 0): { value: string; end: number } {
  assert.equal(sql[start], "'");
  const bytes: number[] = [];
  const simple: Record<string, number> = { b: 8, f: 12, n: 10, r: 13, t: 9, '0': 0, a: 7, v: 11, e: 27, '\\': 92, "'": 39 };
  let i = start + 1;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === '\\') {
      const n = sql[i + 1]!;
      if (n === 'x') {
        bytes.push(Number.parseInt(sql.slice(i + 2, i + 4), 16));
        i += 4;
      } else {
        bytes.push(simple[n] ?? n.charCodeAt(0));
        i += 2;
      }
    } else if (c === "'") {
      if (sql[i + 1] === "'") {
        bytes.push(39);
        i += 2;
      } else {
        return { value: Buffer.from(bytes).toString('utf8'), end: i + 1 };
      }
    } else {
      // Whole code points: a surrogate pair is one character of the UTF-8 query text.
      const ch = String.fromCodePoint(sql.codePointAt(i)!);
      bytes.push(...Buffer.from(ch, 'utf8'));
      i += ch.length;
    }
  }
  throw new Error('unterminated literal');
}

const NASTY = [
  '',
  "' OR 1=1 --",
  "\\' OR 1=1 --",
  "\\\\' OR '1'='1",
  "a'; DROP TABLE meshlog.logs; --",
  "'); DROP TABLE x; /*",
  'line\nbreak\r\ttab',
  'nul\u0000byte',
  'bell\u0007 esc\u001b del\u007f',
  '{p0:String} {tenant:String}',
  '\u00e9t\u00e9 \u4e2d\u6587 \u{1f600}',
  '\\',
  "'",
  "''",
  '\\x41',
  '*/ -- /*',
];

test('quoteString round-trips every nasty string through a ClickHouse-style lexer, ending exactly at the closing quote', () => {
  for (const s of NASTY) {
    const lit = quoteString(s);
    const { value, end } = readClickHouseString(lit);
    assert.equal(value, s, `round trip of ${JSON.stringify(s)}`);
    assert.equal(end, lit.length, `literal for ${JSON.stringify(s)} ends early`);
    // No raw control byte reaches the query text.
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    assert.doesNotMatch(lit, /[\u0000-\u001f\u007f]/);
  }
});

test('quoteString round-trips every single code unit from U+0000 to U+00FF and random strings', () => {
  for (let c = 0; c < 256; c++) {
    const s = `a${String.fromCharCode(c)}b`;
    const lit = quoteString(s);
    assert.deepEqual(readClickHouseString(lit), { value: s, end: lit.length });
  }
  let seed = 42;
  const rand = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const alphabet = ["'", '\\', '"', '`', '\n', '\0', '{', '}', ':', '-', '/', '*', 'a', ' ', '\u00e9', '\u0001'];
  for (let n = 0; n < 2000; n++) {
    const s = Array.from({ length: Math.floor(rand() * 20) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
    const lit = quoteString(s);
    assert.deepEqual(readClickHouseString(lit), { value: s, end: lit.length }, JSON.stringify(s));
  }
});

test('integers are range-checked per type; negatives are parenthesized', () => {
  assert.equal(formatLiteral('UInt8', 255), '255');
  assert.throws(() => formatLiteral('UInt8', 256), /out of range for UInt8/);
  assert.throws(() => formatLiteral('UInt32', -1), /out of range/);
  assert.equal(formatLiteral('UInt64', '18446744073709551615'), '18446744073709551615');
  assert.throws(() => formatLiteral('UInt64', '18446744073709551616'), /out of range/);
  assert.equal(formatLiteral('UInt64', 1_700_000_000_000_000_000n), '1700000000000000000');
  assert.equal(formatLiteral('Int64', '-9223372036854775808'), '(-9223372036854775808)');
  assert.throws(() => formatLiteral('Int64', '9223372036854775808'), /out of range/);
  assert.equal(formatLiteral('Int32', -5), '(-5)');
  assert.equal(formatLiteral('UInt32', '007'), '7');
  for (const bad of [1.5, Number.NaN, Infinity, '1e3', '1 OR 1=1', '0x10', ' 1', '1;', '', '--1', true, null, undefined, [1], {}]) {
    assert.throws(() => formatLiteral('UInt32', bad), SqlBindError, `UInt32 must refuse ${String(bad)}`);
  }
  // Larger than Number.MAX_SAFE_INTEGER as a number: refused (precision is already lost).
  assert.throws(() => formatLiteral('UInt64', 2 ** 60), SqlBindError);
});

test('floats: finite only, canonical JS text, negatives parenthesized', () => {
  assert.equal(formatLiteral('Float64', 1.5), '1.5');
  assert.equal(formatLiteral('Float64', 1e-7), '1e-7');
  assert.equal(formatLiteral('Float32', '2.5e3'), '2500');
  assert.equal(formatLiteral('Float64', -0.25), '(-0.25)');
  for (const bad of [Number.NaN, Infinity, -Infinity, 'nan', 'inf', '1.5; DROP', '1e', '', null]) {
    assert.throws(() => formatLiteral('Float64', bad), SqlBindError, `Float64 must refuse ${String(bad)}`);
  }
});

test('strings must be strings; arrays must be arrays of their element type', () => {
  assert.throws(() => formatLiteral('String', 5), /expected a string/);
  assert.throws(() => formatLiteral('String', null), /expected a string/);
  assert.equal(formatLiteral('Array(String)', ["a']", 'b\\']), "['a\\']', 'b\\\\']");
  assert.equal(formatLiteral('Array(String)', []), '[]');
  assert.equal(formatLiteral('Array( UInt8 )', [1, 2]), '[1, 2]');
  assert.equal(formatLiteral('Array(Array(Int8))', [[-1], []]), '[[(-1)], []]');
  assert.throws(() => formatLiteral('Array(String)', 'a'), /expected an array/);
  assert.throws(() => formatLiteral('Array(String)', ['a', 1]), /expected a string/);
  assert.throws(() => formatLiteral('DateTime64(9)', 1), /unsupported parameter type/);
  assert.throws(() => formatLiteral('Map(String, String)', {}), /unsupported parameter type/);
});

test('bindParams substitutes placeholders once, left to right; values are never rescanned', () => {
  const sql = 'SELECT * FROM t WHERE a = {a:String} AND b = {b:String} LIMIT {n:UInt32}';
  assert.equal(
    bindParams(sql, { a: '{b:String}', b: "x' OR 1=1 --", n: 10 }),
    "SELECT * FROM t WHERE a = '{b:String}' AND b = 'x\\' OR 1=1 --' LIMIT 10",
  );
  // The same placeholder twice, spaces inside the braces.
  assert.equal(bindParams('{ x : String } = {x:String}', { x: 'v' }), "'v' = 'v'");
});

test('bindParams leaves strings, quoted identifiers, comments and macros alone', () => {
  const sql = `CREATE TABLE t ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{x:String}', '{replica}') -- {x:String}
/* {x:String} */ SELECT "{x:String}", \`{x:String}\`, 'it''s {x:String}', 'esc \\' {x:String}', {x:String}`;
  const out = bindParams(sql, { x: 'BOUND' });
  assert.equal(out.split("'BOUND'").length - 1, 1, out);
  assert.match(out, /\{shard\}/);
  assert.match(out, /'\{replica\}'/);
});

test('bindParams: a negative number after a minus never starts a comment', () => {
  const out = bindParams('SELECT x-{p:Int32} FROM t WHERE secret = 0', { p: -1 });
  assert.equal(out, 'SELECT x-(-1) FROM t WHERE secret = 0');
  assert.doesNotMatch(out, /--/);
});

test('bindParams refuses missing values, bad values and broken templates', () => {
  assert.throws(() => bindParams('SELECT {a:String}', {}), /no value for query parameter "a"/);
  assert.throws(() => bindParams('SELECT {a:UInt8}', { a: 300 }), /query parameter "a": 300 is out of range/);
  assert.throws(() => bindParams("SELECT 'open {a:String}", { a: 'x' }), /unterminated ' quote/);
  assert.throws(() => bindParams('SELECT /* open {a:String}', { a: 'x' }), /unterminated comment/);
  // Not a placeholder: left as is.
  assert.equal(bindParams('SELECT {notaplaceholder}, {1:String}', {}), 'SELECT {notaplaceholder}, {1:String}');
});

test('bindParams output for the store queries parses as one statement with every value in one literal', () => {
  const tenant = "t'; DROP DATABASE meshlog; --";
  const out = bindParams('SELECT 1 FROM meshlog.logs WHERE tenant = {tenant:String} AND trace_id = {trace:String}', {
    tenant,
    trace: '\\',
  });
  const at = out.indexOf("'");
  const first = readClickHouseString(out, at);
  assert.equal(first.value, tenant);
  assert.equal(out.slice(first.end), " AND trace_id = '\\\\'");
});
