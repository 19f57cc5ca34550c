// Fuzz test: deterministic random mutations of the corpus. The parser must
// only ever throw ParseError (with a position inside the input), must finish
// quickly, and whatever it accepts must print, re-parse to the same tree and
// validate without throwing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { INVALID_QUERIES, VALID_QUERIES } from './corpus-data.js';
import { ParseError } from './errors.js';
import { parse } from './parser.js';
import { print } from './printer.js';
import { validate } from './validate.js';
import { selectorsOf, withoutPositions } from './walk.js';

/** mulberry32: small, fast, good enough for picking mutations reproducibly. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FRAGMENTS = [
  '(', ')', '{', '}', '[', ']', '[5m]', '[1.5m]', ',', '|', '|=', '|~', '!=', '!~', '|>', '=', '==', '=~', '>', '>=', '<', '<=',
  '+', '-', '*', '/', '%', '^', '"', '`', '\\', '\\x', '\\u', '#', '\n', '\r\n', '\t', ' ', '.', '!', '?', '§', '日', '🚀', '\ud800',
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless', 'json', 'logfmt',
  '--strict', '--keep-empty', '--', 'regexp', 'pattern', 'unpack', 'line_format', 'label_format', 'drop', 'keep', 'decolorize',
  'unwrap', 'bytes(', 'duration(', 'ip("10.0.0.1")', 'ip(', 'sum', 'rate', 'topk', 'count_over_time', 'quantile_over_time',
  'label_replace', 'vector(1)', '__error__', '0', '1', '-1', '0x1f', '1e3', '1e999', '5m', '1h30m', '250ms', '10KB', '1.5MiB',
  '5mb', '"x"', '`y`', '"\\n"', '{a="b"}', 'sum(', 'rate({a="b"}[5m])',
];

function mutate(query: string, random: () => number, corpus: readonly string[]): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const at = (): number => Math.floor(random() * (query.length + 1));
  const rounds = 1 + Math.floor(random() * 3);
  for (let r = 0; r < rounds; r++) {
    const i = at();
    switch (Math.floor(random() * 8)) {
      case 0: // delete a slice
        query = query.slice(0, i) + query.slice(i + 1 + Math.floor(random() * 4));
        break;
      case 1: // insert a fragment
        query = query.slice(0, i) + pick(FRAGMENTS) + query.slice(i);
        break;
      case 2: // replace one character
        query = query.slice(0, i) + pick(FRAGMENTS).slice(0, 1) + query.slice(i + 1);
        break;
      case 3: {
        // duplicate a slice
        const j = Math.min(query.length, i + Math.floor(random() * 12));
        query = query.slice(0, j) + query.slice(i, j) + query.slice(j);
        break;
      }
      case 4: // truncate
        query = query.slice(0, i);
        break;
      case 5: {
        // splice in part of another query
        const other = pick(corpus);
        const k = Math.floor(random() * other.length);
        query = query.slice(0, i) + other.slice(k, k + 1 + Math.floor(random() * 30)) + query.slice(i);
        break;
      }
      case 6: {
        // swap two characters
        const j = at();
        const chars = [...query];
        if (i < chars.length && j < chars.length) [chars[i], chars[j]] = [chars[j] as string, chars[i] as string];
        query = chars.join('');
        break;
      }
      default: // upper-case a slice: keywords are case-insensitive, label names are not
        query = query.slice(0, i) + query.slice(i, i + 8).toUpperCase() + query.slice(i + 8);
    }
  }
  return query;
}

describe('fuzz', () => {
  it('never throws anything but ParseError, never hangs, and round-trips what it accepts', { timeout: 120_000 }, () => {
    const corpus = [...VALID_QUERIES, ...INVALID_QUERIES.map((q) => q.query.replace('‸', ''))];
    const random = rng(0x10c51);
    const iterations = 6000;
    let accepted = 0;
    let slowest = 0;
    for (let n = 0; n < iterations; n++) {
      const query = mutate(corpus[n % corpus.length] as string, random, corpus);
      const started = performance.now();
      let ast;
      try {
        ast = parse(query);
      } catch (err) {
        if (!(err instanceof ParseError)) assert.fail(`non-ParseError ${String(err)} for ${JSON.stringify(query)}`);
        assert.ok(err.offset >= 0 && err.offset <= query.length && err.line >= 1 && err.column >= 1, `bad position in ${err.message}`);
        continue;
      } finally {
        slowest = Math.max(slowest, performance.now() - started);
      }
      accepted++;
      const printed = print(ast);
      const reparsed = parse(printed);
      assert.deepStrictEqual(withoutPositions(reparsed), withoutPositions(ast), `${JSON.stringify(query)} printed as ${JSON.stringify(printed)}`);
      assert.equal(print(reparsed), printed);
      validate(ast);
      selectorsOf(ast);
    }
    // Mutations keep a fair share of queries parseable, or the round-trip half of this test would be idle.
    assert.ok(accepted > iterations / 10, `only ${accepted} of ${iterations} mutants parsed`);
    assert.ok(slowest < 1000, `slowest parse took ${slowest} ms`);
  });

  it('handles pathological inputs within the caps', () => {
    const cases = [
      '('.repeat(20_000),
      '('.repeat(100) + '1' + ')'.repeat(100),
      '1' + ' + 1'.repeat(5_000),
      '2' + ' ^ 2'.repeat(5_000),
      '{a="b"} | x="y"' + ' and x="y"'.repeat(3_000),
      '{a="b"} | ' + '('.repeat(5_000),
      '{a="b"}' + ' |= "x"'.repeat(8_000),
      '"' + '\\'.repeat(30_000),
      '[' + ' '.repeat(60_000),
      'sum('.repeat(10_000),
      '-'.repeat(60_000),
      '{' + 'a="b",'.repeat(10_000) + '}',
    ];
    for (const query of cases) {
      const started = performance.now();
      try {
        const ast = parse(query);
        print(ast);
        validate(ast);
      } catch (err) {
        assert.ok(err instanceof ParseError, `non-ParseError ${String(err)} for ${query.slice(0, 40)}…`);
      }
      assert.ok(performance.now() - started < 2000, `slow on ${query.slice(0, 40)}…`);
    }
  });
});
