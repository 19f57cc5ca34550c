// Lexer corner cases: positions, string escapes, numbers glued to units,
// ranges, flags, comments and longest-match punctuation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ParseError } from './errors.js';
import { Lexer, tokenize, type Token } from './lexer.js';

const kinds = (text: string): string[] => tokenize(text).map((t) => `${t.type}:${t.text}`);
const one = (text: string): Token => {
  const tokens = tokenize(text);
  assert.equal(tokens.length, 1, `expected one token in ${JSON.stringify(text)}, got ${tokens.length}`);
  return tokens[0] as Token;
};
const lexError = (text: string): ParseError => {
  try {
    tokenize(text);
  } catch (err) {
    assert.ok(err instanceof ParseError);
    return err;
  }
  assert.fail(`expected a lexical error in ${JSON.stringify(text)}`);
};

describe('lexer positions', () => {
  it('tracks offset, line and column (1-based) across lines', () => {
    const tokens = tokenize('{a="b"}\n  | json\n\t|= "x"');
    const at = (text: string): [number, number, number] => {
      const t = tokens.find((x) => x.text === text) as Token;
      return [t.pos.offset, t.pos.line, t.pos.column];
    };
    assert.deepEqual(at('{'), [0, 1, 1]);
    assert.deepEqual(at('"b"'), [3, 1, 4]);
    assert.deepEqual(at('|'), [10, 2, 3]);
    assert.deepEqual(at('json'), [12, 2, 5]);
    assert.deepEqual(at('|='), [18, 3, 2]);
  });

  it('counts lines inside raw strings and after CRLF', () => {
    const tokens = tokenize('`a\nb\nc` x\r\ny');
    assert.deepEqual(
      tokens.map((t) => [t.pos.line, t.pos.column]),
      [
        [1, 1],
        [3, 4],
        [4, 1],
      ],
    );
  });

  it('columns count UTF-16 code units, as browser editors do', () => {
    const t = tokenize('"🚀" x')[1] as Token;
    assert.deepEqual([t.pos.offset, t.pos.column], [5, 6]);
  });

  it('returns eof at the end of input, after trailing space and comments', () => {
    const lexer = new Lexer('a # comment\n  ');
    assert.equal(lexer.next().type, 'ident');
    const eof = lexer.next();
    assert.deepEqual([eof.type, eof.pos.line, eof.pos.column], ['eof', 2, 3]);
    assert.equal(lexer.next().type, 'eof');
  });
});

describe('lexer strings', () => {
  it('decodes Go escapes in double-quoted strings', () => {
    assert.equal(one(String.raw`"\a\b\f\n\r\t\v\\\""`).str, '\x07\b\f\n\r\t\v\\"');
    assert.equal(one(String.raw`"\101\x42\u00e9\U0001F600"`).str, 'ABé😀');
  });

  it('decodes consecutive byte escapes as UTF-8', () => {
    assert.equal(one(String.raw`"\xc3\xa9t\303\251"`).str, 'été');
    assert.equal(one(String.raw`"\xe6\x97\xa5"`).str, '日');
    assert.match(lexError(String.raw`"\xc3"`).message, /invalid UTF-8/);
    assert.match(lexError(String.raw`"\xc0\x80"`).message, /invalid UTF-8/, 'overlong encodings are invalid');
    assert.match(lexError(String.raw`"\xed\xa0\x80"`).message, /invalid UTF-8/, 'encoded surrogates are invalid');
  });

  it('keeps raw strings verbatim, except carriage returns (as Go does)', () => {
    const t = one('`a\\d+\r\n"b"`');
    assert.equal(t.str, 'a\\d+\n"b"');
    assert.equal(t.raw, true);
    assert.equal(one('"x"').raw, false);
  });

  it('keeps # inside strings', () => {
    assert.equal(one('"a # b"').str, 'a # b');
  });

  it('rejects bad escapes at the backslash', () => {
    const e = lexError('  "ab\\qc"');
    assert.deepEqual([e.column, e.reason], [6, 'invalid escape sequence "\\q" in string']);
    assert.match(lexError(String.raw`"\x4"`).message, /2 hex digits/);
    assert.match(lexError(String.raw`"\u12"`).message, /4 hex digits/);
    assert.match(lexError(String.raw`"\udfff"`).message, /not a valid Unicode code point/);
    assert.match(lexError(String.raw`"\777"`).message, /invalid octal/);
    assert.match(lexError(String.raw`"\'"`).message, /invalid escape/);
  });

  it('rejects unterminated strings and newlines in double-quoted strings', () => {
    assert.equal(lexError(' "abc').column, 2);
    assert.match(lexError('"a\nb"').message, /unterminated string/);
    assert.match(lexError('`abc').message, /unterminated raw string/);
  });

  it('rejects lone surrogates (the JavaScript form of invalid UTF-8)', () => {
    assert.match(lexError('"a\ud800b"').message, /lone surrogate/);
    assert.match(lexError('`\udc00`').message, /lone surrogate/);
    assert.equal(one('"\ud83d\ude80"').str, '🚀');
  });
});

describe('lexer numbers, durations and bytes', () => {
  it('reads integers, floats, hex and scientific notation', () => {
    for (const [text, value] of [
      ['42', 42],
      ['3.25', 3.25],
      ['.5', 0.5],
      ['5.', 5],
      ['0x1F', 31],
      ['0Xff', 255],
      ['1e3', 1000],
      ['1E-3', 0.001],
      ['1e+21', 1e21],
      ['007', 7],
    ] as const) {
      const t = one(text);
      assert.deepEqual([t.type, t.num], ['number', value], text);
    }
  });

  it('reads durations, Prometheus and Go style', () => {
    for (const [text, ms] of [
      ['5m', 300_000],
      ['1h30m', 5_400_000],
      ['250ms', 250],
      ['1d', 86_400_000],
      ['1w', 604_800_000],
      ['1y', 31_536_000_000],
      ['1.5h', 5_400_000],
      ['250us', 0.25],
      ['5µs', 0.005],
      ['100ns', 0.0001],
      ['0s', 0],
    ] as const) {
      const t = one(text);
      assert.deepEqual([t.type, t.num], ['duration', ms], text);
    }
  });

  it('reads byte sizes with the units Loki accepts', () => {
    for (const [text, bytes] of [
      ['10KB', 10_000],
      ['10kB', 10_000],
      ['1.5MiB', 1_572_864],
      ['3k', 3000],
      ['1M', 1_000_000],
      ['2Gi', 2 * 2 ** 30],
      ['20B', 20],
      ['1PB', 1e15],
    ] as const) {
      const t = one(text);
      assert.deepEqual([t.type, t.num], ['bytes', bytes], text);
    }
  });

  it('tells 1m (a minute) from 1M (a megabyte)', () => {
    assert.equal(one('1m').type, 'duration');
    assert.equal(one('1M').type, 'bytes');
  });

  it('rejects a number glued to letters that form no unit, instead of splitting it', () => {
    assert.match(lexError('5mb').message, /invalid number, duration or bytes literal "5mb"/);
    assert.match(lexError('1e5m').message, /invalid number/);
    assert.match(lexError('0x1g').message, /invalid number "0x1g"/);
    assert.match(lexError('1.2.3').message, /invalid number/);
    assert.match(lexError('1e400').message, /out of range/);
  });

  it('leaves signs to the parser', () => {
    assert.deepEqual(kinds('-5m'), ['punct:-', 'duration:5m']);
    assert.deepEqual(kinds('1-1'), ['number:1', 'punct:-', 'number:1']);
  });
});

describe('lexer ranges, flags, punctuation and comments', () => {
  it('reads [5m] as one range token in milliseconds', () => {
    const t = one('[1h30m]');
    assert.deepEqual([t.type, t.num], ['range', 5_400_000]);
    assert.equal(one('[ 5m ]').num, 300_000);
  });

  it('accepts only Prometheus durations in ranges', () => {
    assert.match(lexError('[1.5m]').message, /invalid range "1.5m"/);
    assert.match(lexError('[5m1h]').message, /invalid range/);
    assert.match(lexError('[]').message, /invalid range ""/);
    const e = lexError('x [5m');
    assert.deepEqual([e.column, e.reason], [3, 'missing closing "]" in range']);
  });

  it('reads logfmt flags, but not minus minus number', () => {
    assert.deepEqual(kinds('--strict --keep-empty'), ['flag:--strict', 'flag:--keep-empty']);
    assert.deepEqual(kinds('1 --1'), ['number:1', 'punct:-', 'punct:-', 'number:1']);
  });

  it('matches the longest punctuation', () => {
    assert.deepEqual(kinds('|= |~ |> | != !~ !> =~ == = >= > <= <'), [
      'punct:|=',
      'punct:|~',
      'punct:|>',
      'punct:|',
      'punct:!=',
      'punct:!~',
      'punct:!>',
      'punct:=~',
      'punct:==',
      'punct:=',
      'punct:>=',
      'punct:>',
      'punct:<=',
      'punct:<',
    ]);
  });

  it('keeps identifier case (the parser compares keywords case-insensitively)', () => {
    assert.deepEqual(kinds('SUM by Group_Left __error__ a1_b'), ['ident:SUM', 'ident:by', 'ident:Group_Left', 'ident:__error__', 'ident:a1_b']);
  });

  it('skips comments to the end of the line', () => {
    assert.deepEqual(kinds('a # b c\nd #'), ['ident:a', 'ident:d']);
  });

  it('rejects characters that start no token', () => {
    for (const ch of ['!', '?', ';', '§', '@', '$', '\u00a0']) {
      assert.match(lexError(`a ${ch}`).message, /unexpected character/, JSON.stringify(ch));
    }
  });
});
