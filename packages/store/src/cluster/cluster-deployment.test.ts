import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { QueryOptions, QueryResult, SqlBackend } from '../backend.js';
import { capabilitiesFor } from '../schema/capabilities.js';
import { migrate } from '../schema/migrate.js';
import { MIGRATIONS, type TableSpec } from '../schema/migrations.js';
import { bindParams } from './sql-literals.js';
import { clusterDeployment, distributedColumns, splitColumns } from './cluster-deployment.js';

const OLD = capabilitiesFor('18.16.1');
const MODERN = capabilitiesFor('25.8.1');

function tables(caps = OLD): TableSpec[] {
  return MIGRATIONS.flatMap((m) => m.steps(caps)).flatMap((s) => (s.kind === 'table' ? [s.table] : []));
}

test('each table renders as a ReplicatedMergeTree <name>_local plus a Distributed <name>, both ON CLUSTER', () => {
  const d = clusterDeployment({ cluster: 'prod', database: 'meshlog' });
  const logs = tables().find((t) => t.name === 'logs')!;
  const [local, dist] = d.createTable(logs, OLD);
  assert.match(local!, /^CREATE TABLE IF NOT EXISTS meshlog\.logs_local ON CLUSTER prod \(/);
  assert.match(local!, /ENGINE = ReplicatedMergeTree\('\/clickhouse\/tables\/\{shard\}\/meshlog\/logs_local', '\{replica\}'\)\nPARTITION BY \(tenant, toYYYYMMDD\(toDateTime\(intDiv\(timestamp_ns, 1000000000\)\)\)\)\nORDER BY \(tenant, service_name, stream_id, timestamp_ns\)/);
  assert.match(local!, /ts DateTime ALIAS toDateTime\(intDiv\(timestamp_ns, 1000000000\)\)/);
  assert.match(dist!, /^CREATE TABLE IF NOT EXISTS meshlog\.logs ON CLUSTER prod \(/);
  assert.match(dist!, /ENGINE = Distributed\(prod, meshlog, logs_local, cityHash64\(tenant, labels_keys, labels_values\)\)$/);
  assert.equal(d.onCluster, 'ON CLUSTER prod');
});

test('shard keys: logs by stream, spans by trace, anything else at random', () => {
  const d = clusterDeployment({ cluster: 'c' });
  const spans = tables().find((t) => t.name === 'spans')!;
  assert.match(d.createTable(spans, OLD)[1]!, /Distributed\(c, meshlog, spans_local, cityHash64\(tenant, trace_id\)\)$/);
  const other: TableSpec = { name: 'x', columns: '  a UInt8', partitionBy: 'tuple()', orderBy: 'a', settings: [] };
  assert.match(d.createTable(other, OLD)[1]!, /Distributed\(c, meshlog, x_local, rand\(\)\)$/);
});

test('the Distributed table declares MATERIALIZED columns as ALIAS and carries no indexes or codecs (modern capabilities)', () => {
  const d = clusterDeployment({ cluster: 'c' });
  const logs = tables(MODERN).find((t) => t.name === 'logs')!;
  const [local, dist] = d.createTable(logs, MODERN);
  // The local table keeps everything the modern server offers...
  assert.match(local!, /INDEX idx_body_ngrams body TYPE ngrambf_v1/);
  assert.match(local!, /CODEC\(DoubleDelta, ZSTD\(1\)\)/);
  assert.match(local!, /LowCardinality\(String\)/);
  // ...the Distributed one only the columns.
  assert.doesNotMatch(dist!, /MATERIALIZED|INDEX|CODEC/);
  assert.match(dist!, /\n {2}ts DateTime ALIAS toDateTime\(intDiv\(timestamp_ns, 1000000000\)\),\n/);
  assert.match(dist!, /\n {2}stream_id UInt64 ALIAS cityHash64\(labels_keys, labels_values\),\n/);
  assert.match(dist!, /\n {2}labels_keys Array\(LowCardinality\(String\)\),\n/);
  const localColumns = splitColumns(logs.columns).filter((c) => !c.startsWith('INDEX'));
  assert.equal(splitColumns(distributedColumns(logs.columns)).length, localColumns.length);
});

test('on 18.16 the rendered schema has none of what 18.16 lacks', () => {
  const d = clusterDeployment({ cluster: 'c' });
  const all = tables(OLD)
    .flatMap((t) => d.createTable(t, OLD))
    .join('\n');
  for (const missing of ['LowCardinality', 'CODEC', 'INDEX', 'ngrambf_v1', 'bloom_filter', 'compress_block_size', 'DateTime64', 'Map(', 'TTL', 'fsync_', 'deduplication_window']) {
    assert.ok(!all.includes(missing), `18.16 DDL must not use ${missing}`);
  }
});

test('splitColumns splits at top-level commas only', () => {
  assert.deepEqual(splitColumns("  a Array(Tuple(String, UInt8)),\n  b String DEFAULT 'x,y',\n  c UInt64 CODEC(Delta, ZSTD(1))\n"), [
    'a Array(Tuple(String, UInt8))',
    "b String DEFAULT 'x,y'",
    'c UInt64 CODEC(Delta, ZSTD(1))',
  ]);
  assert.equal(distributedColumns('  c UInt64 CODEC(Delta, ZSTD(1)),\n  INDEX i c TYPE minmax GRANULARITY 1'), '  c UInt64');
});

test('cluster and database names are identifiers (they are spliced into DDL)', () => {
  assert.throws(() => clusterDeployment({ cluster: 'c; DROP DATABASE x' }), /invalid ClickHouse cluster name/);
  assert.throws(() => clusterDeployment({ cluster: 'c', database: 'a-b' }), /invalid ClickHouse database name/);
});

/** Records statements; answers the queries migrate() asks. */
class RecordingBackend implements SqlBackend {
  readonly kind = 'cluster' as const;
  readonly statements: string[] = [];
  applied: number[] = [];
  tableExists = false;
  /** `table.column` pairs system.columns reports. */
  readonly columns = new Set<string>();
  /** Tables whose ADD COLUMN fails as on a host that already has it. */
  readonly refuseAsExisting = new Set<string>();
  async exec(sql: string, opts: QueryOptions = {}): Promise<void> {
    const text = opts.params ? bindParams(sql, opts.params) : sql;
    const alter = /^ALTER TABLE \w+\.(\w+) .*ADD COLUMN (\w+)/.exec(text);
    if (alter && this.refuseAsExisting.has(alter[1]!))
      throw new Error(`There was an error on [127.0.0.1:9000]: Code: 44, e.displayText() = DB::Exception: Cannot add column ${alter[2]}: column with this name already exists`);
    this.statements.push(text);
    if (/CREATE TABLE IF NOT EXISTS \w+\.schema_migrations /.test(text)) this.tableExists = true;
    const m = /INSERT INTO \w+\.schema_migrations .* VALUES \((\d+),/.exec(text);
    if (m) this.applied.push(Number(m[1]));
  }
  async query<T>(sql: string, opts: QueryOptions = {}): Promise<QueryResult<T>> {
    const p = (opts.params ?? {}) as Record<string, string>;
    const rows = sql.includes('system.tables')
      ? [{ n: this.tableExists ? '1' : '0' }]
      : sql.includes('system.columns')
        ? [{ n: this.columns.has(`${p['t']}.${p['c']}`) ? '1' : '0' }]
        : this.applied.map((version) => ({ version }));
    return { rows: rows as T[], rowsRead: 0, bytesRead: 0, elapsedMs: 0 };
  }
  async insertRows(): Promise<void> {}
  async close(): Promise<void> {}
}

test('migrate on a cluster: database and every table ON CLUSTER, versions recorded; a second run issues no DDL', async () => {
  const backend = new RecordingBackend();
  const d = clusterDeployment({ cluster: 'meshlog_test', database: 'meshlog' });
  assert.deepEqual(await migrate(backend, OLD, d), [1, 2, 3, 4, 5]);
  const heads = backend.statements.map((s) => s.split('(')[0]!.trim());
  const retention = ['retention_policies', 'legal_holds', 'retention_changes', 'deletions'].flatMap((t) => [
    `CREATE TABLE IF NOT EXISTS meshlog.${t}_local ON CLUSTER meshlog_test`,
    `CREATE TABLE IF NOT EXISTS meshlog.${t} ON CLUSTER meshlog_test`,
  ]);
  assert.deepEqual(heads, [
    'CREATE DATABASE IF NOT EXISTS meshlog ON CLUSTER meshlog_test',
    'CREATE TABLE IF NOT EXISTS meshlog.schema_migrations_local ON CLUSTER meshlog_test',
    'CREATE TABLE IF NOT EXISTS meshlog.schema_migrations ON CLUSTER meshlog_test',
    'CREATE TABLE IF NOT EXISTS meshlog.logs_local ON CLUSTER meshlog_test',
    'CREATE TABLE IF NOT EXISTS meshlog.logs ON CLUSTER meshlog_test',
    'CREATE TABLE IF NOT EXISTS meshlog.spans_local ON CLUSTER meshlog_test',
    'CREATE TABLE IF NOT EXISTS meshlog.spans ON CLUSTER meshlog_test',
    'INSERT INTO meshlog.schema_migrations',
    ...retention,
    'INSERT INTO meshlog.schema_migrations',
    'CREATE TABLE IF NOT EXISTS meshlog.audit_log_local ON CLUSTER meshlog_test',
    'CREATE TABLE IF NOT EXISTS meshlog.audit_log ON CLUSTER meshlog_test',
    'INSERT INTO meshlog.schema_migrations',
    'CREATE TABLE IF NOT EXISTS meshlog.approvals_local ON CLUSTER meshlog_test',
    'CREATE TABLE IF NOT EXISTS meshlog.approvals ON CLUSTER meshlog_test',
    'INSERT INTO meshlog.schema_migrations',
    // Migration 5: 18.16 has no ADD COLUMN IF NOT EXISTS; the replicated local tables only (see addColumn).
    'ALTER TABLE meshlog.logs_local ON CLUSTER meshlog_test ADD COLUMN ingest_row UInt32 DEFAULT 0',
    'ALTER TABLE meshlog.spans_local ON CLUSTER meshlog_test ADD COLUMN ingest_row UInt32 DEFAULT 0',
    'ALTER TABLE meshlog.audit_log_local ON CLUSTER meshlog_test ADD COLUMN ingest_row UInt32 DEFAULT 0',
    'INSERT INTO meshlog.schema_migrations',
  ]);
  assert.ok(backend.statements.some((s) => /VALUES \(1, 'logs and spans tables', now\(\)\)$/.test(s)));
  const before = backend.statements.length;
  assert.deepEqual(await migrate(backend, OLD, d), []);
  assert.equal(backend.statements.length, before, 'no statement when every migration is recorded');
});

test('migration 5 interrupted half way goes on: tables that have the column are skipped, a host that has it is not an error', async () => {
  const backend = new RecordingBackend();
  const d = clusterDeployment({ cluster: 'meshlog_test', database: 'meshlog' });
  backend.columns.add('logs_local.ingest_row');
  backend.refuseAsExisting.add('spans_local');
  assert.deepEqual(await migrate(backend, OLD, d), [1, 2, 3, 4, 5]);
  assert.deepEqual(
    backend.statements.filter((s) => s.startsWith('ALTER')),
    ['ALTER TABLE meshlog.audit_log_local ON CLUSTER meshlog_test ADD COLUMN ingest_row UInt32 DEFAULT 0'],
  );
  // Any other failure stops the migration, unrecorded.
  const failing = new RecordingBackend();
  failing.exec = async (sql: string, opts?: QueryOptions): Promise<void> => {
    if (sql.startsWith('ALTER')) throw new Error('Code: 159. Timeout exceeded while waiting for the distributed DDL');
    await RecordingBackend.prototype.exec.call(failing, sql, opts);
  };
  await assert.rejects(migrate(failing, OLD, d), /Timeout exceeded/);
  assert.deepEqual(failing.applied, [1, 2, 3, 4]);
});
