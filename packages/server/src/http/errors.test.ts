import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERRORS } from './errors.js';

test('every error code is documented in docs/errors.md with its status', () => {
  const doc = readFileSync(new URL('../../../../docs/errors.md', import.meta.url), 'utf8');
  for (const [code, def] of Object.entries(ERRORS)) {
    const row = new RegExp(`^\\| \`${code}\` \\| ${def.status} \\| ${def.retryable ? 'yes' : 'no'} \\|`, 'm');
    assert.match(doc, row, `docs/errors.md lacks a row for ${code} (${def.status}, retryable ${def.retryable})`);
  }
});
