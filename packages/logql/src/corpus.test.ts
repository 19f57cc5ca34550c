// Corpus tests: every valid query round-trips through print and validates
// clean; every invalid query fails with a ParseError exactly at its marker.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { INVALID_QUERIES, VALID_QUERIES } from './corpus-data.js';
import { ParseError } from './errors.js';
import { PositionMap } from './lexer.js';
import { parse } from './parser.js';
import { print } from './printer.js';
import { validate } from './validate.js';
import { withoutPositions } from './walk.js';

const MARKER = '‸';

describe('valid corpus', () => {
  it('is large enough to mean something', () => {
    assert.ok(VALID_QUERIES.length >= 300, `only ${VALID_QUERIES.length} valid queries`);
    assert.equal(new Set(VALID_QUERIES).size, VALID_QUERIES.length, 'duplicate queries in the corpus');
  });

  for (const query of VALID_QUERIES) {
    it(`round-trips ${JSON.stringify(query)}`, () => {
      const ast = parse(query);
      const printed = print(ast);
      const reparsed = parse(printed);
      assert.deepStrictEqual(withoutPositions(reparsed), withoutPositions(ast), `print gave ${printed}`);
      assert.equal(print(reparsed), printed, 'print is not a fixed point');
      assert.deepStrictEqual(
        validate(ast).map((e) => e.message),
        [],
      );
    });
  }
});

describe('invalid corpus', () => {
  it('is large enough to mean something', () => {
    assert.ok(INVALID_QUERIES.length >= 80, `only ${INVALID_QUERIES.length} invalid queries`);
  });

  for (const { query: marked, message } of INVALID_QUERIES) {
    it(`rejects ${JSON.stringify(marked)}`, () => {
      const offset = marked.indexOf(MARKER);
      assert.ok(offset >= 0 && marked.indexOf(MARKER, offset + 1) < 0, 'exactly one marker expected');
      const query = marked.replace(MARKER, '');
      const expected = new PositionMap(query).at(offset);
      let error: unknown;
      try {
        parse(query);
      } catch (err) {
        error = err;
      }
      assert.ok(error instanceof ParseError, `expected a ParseError, got ${String(error)}`);
      assert.deepStrictEqual({ line: error.line, column: error.column, offset: error.offset }, expected, error.message);
      assert.ok(error.message.startsWith(`parse error at line ${expected.line}, col ${expected.column}: `), error.message);
      if (message !== undefined) assert.ok(error.message.includes(message), `${JSON.stringify(error.message)} lacks ${JSON.stringify(message)}`);
    });
  }
});
