import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { ConfigError, ConfigSource } from './config-file.js';

const Schema = z
  .object({
    server: z.object({ http_port: z.number().int().default(3100), listen_address: z.string().default('127.0.0.1') }).strict().default({ http_port: 3100, listen_address: '127.0.0.1' }),
    data_dir: z.string().default('data'),
  })
  .strict();

test('a misspelled key is reported with its path, line, column and a suggestion', () => {
  const src = ConfigSource.fromText(`data_dir: /tmp/x
server:
  http_port: 3100
  listen_adress: 0.0.0.0
`, 'meshlog.yaml');
  assert.throws(
    () => src.validate(Schema, src.value, []),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.problems.length, 1);
      const p = err.problems[0]!;
      assert.equal(p.path, 'server.listen_adress');
      assert.equal(p.line, 4);
      assert.equal(p.column, 3);
      assert.match(err.message, /meshlog\.yaml: server\.listen_adress: unknown key "listen_adress"; did you mean "listen_address"\? \(line 4, column 3\)/);
      return true;
    },
  );
});

test('a wrong type is reported at the value', () => {
  const src = ConfigSource.fromText(`server:\n  http_port: "eighty"\n`);
  assert.throws(() => src.validate(Schema, src.value, []), /server\.http_port: .*number.*\(line 2, column 14\)/);
});

test('YAML syntax errors carry the line', () => {
  assert.throws(() => ConfigSource.fromText(`server:\n  http_port: [1, 2\n`), (err: unknown) => err instanceof ConfigError && err.problems[0]!.line !== undefined);
});

test('duplicate keys are refused', () => {
  assert.throws(() => ConfigSource.fromText(`data_dir: a\ndata_dir: b\n`), ConfigError);
});
