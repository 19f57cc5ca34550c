// Every evaluation error code is documented in the README with its status,
// and compile-time problems surface as EvaluationError with a clear code.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { LogQuery } from '../ast.js';
import { parse } from '../parser.js';
import { EVALUATION_STATUS, EvaluationCode, EvaluationError } from './errors.js';
import { compilePipeline } from './pipeline.js';

describe('EvaluationError', () => {
  it('every code is in the README errors table with its status', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const code of Object.values(EvaluationCode)) {
      const row = new RegExp(`\\| \`${code}\` \\| ${EVALUATION_STATUS[code]} \\|`);
      assert.match(readme, row, `README lacks a row for ${code} (${EVALUATION_STATUS[code]})`);
    }
  });
  it('compilePipeline refuses what cannot run, with a code and a hint', () => {
    const stages = (q: string) => (parse(q) as LogQuery).pipeline;
    const code = (q: string) => {
      try {
        compilePipeline(stages(q));
      } catch (err) {
        assert.ok(err instanceof EvaluationError);
        return [err.code, err.message];
      }
      return undefined;
    };
    assert.deepEqual(code('{a="b"} | json x="a..b"')?.[0], 'invalid-query');
    assert.match(String(code('{a="b"} | json x="a..b"')?.[1]), /cannot parse JSON expression "a..b"/);
    assert.deepEqual(code('{a="b"} | label_format x="{{ .a | nope }}"'), ['invalid-template', `invalid template for label 'x': template: label:1: function "nope" not defined`]);
    assert.deepEqual(code('{a="b"} | logfmt x="a b"')?.[0], 'invalid-query');
    assert.equal(code('{a="b"} | json | logfmt | regexp "(?P<x>.)" | pattern "<y> z" | unpack | decolorize | drop a | keep b'), undefined);
  });
});
