/**
 * Versioned schema migrations, run at every start. Each step is idempotent
 * (`CREATE ... IF NOT EXISTS`; a column is added only where system.columns
 * lacks it, since 18.16 has no `ADD COLUMN IF NOT EXISTS`), and applied
 * versions are recorded, so a run interrupted half way is simply run again.
 *
 * Table layout (logs):
 *
 *   ORDER BY (tenant, service_name, stream_id, timestamp_ns)
 *   PARTITION BY (tenant, toYYYYMMDD(ts))     -- retention = drop partition
 *   (ts is an ALIAS of toDateTime(intDiv(timestamp_ns, 1e9)): the partition
 *   min/max index on timestamp_ns prunes with it, and it costs no bytes)
 *
 *   tenant        LowCardinality(String)  isolation key, first in every WHERE
 *   timestamp_ns  UInt64                  event time, ns (no DateTime64 on 18.16)
 *   ts            DateTime ALIAS          seconds, for partitions and pruning
 *   observed_ns   UInt64
 *   service_name  LowCardinality(String)  the hottest stream label, own column
 *   labels_keys / labels_values           stream labels, parallel arrays
 *   stream_id     UInt64 MATERIALIZED     cityHash64 of the label arrays
 *   severity_number UInt8, severity_text
 *   body          String                  ZSTD(6) (measured: 73.7 B/record vs 78.6 at
 *                                         level 3, 71.4 at 9 for twice the CPU); a
 *                                         3-gram bloom filter when available, which
 *                                         serves `LIKE '%needle%'` (Loki's `|=`)
 *                                         exactly; a token filter would only serve
 *                                         whole tokens (measured: same 4.2 B/record)
 *   trace_id, span_id String              hex; bloom filter on trace_id
 *   flags         UInt32
 *   attr_keys / attr_values               structured metadata (record attributes)
 *   res_keys / res_values                 resource attributes
 *   scope_name    LowCardinality(String)
 *   source        LowCardinality(String)  the component that accepted it
 *   ingest_seq    UInt64                  the ingest WAL group that carried it (0 without
 *                                         the WAL): replay checks it, the ledger too
 *   ingest_row    UInt32                  the row's ordinal in that group (migration 5): a
 *                                         ledger batch leaf covers rows [row, row+records)
 *
 * With the 18.16 capabilities (no LowCardinality, codecs or skip indexes)
 * this DDL runs as is on Debian's ClickHouse 18.16, checked against the real
 * server by tests/cluster: `cityHash64` over the label arrays in a
 * MATERIALIZED column, `toYYYYMMDD` in a tuple partition key and
 * `PARTITION BY tuple()` all work there, so nothing here needed a switch.
 */
import type { Capabilities } from './capabilities.js';

/** One table, described once; a `Deployment` renders it for embedded or cluster use. */
export interface TableSpec {
  name: string;
  /** Column (and index) definitions, without the surrounding parentheses. */
  columns: string;
  partitionBy: string;
  orderBy: string;
  settings: string[];
  /**
   * The Distributed sharding key in a cluster (`rand()` when absent); the
   * reasons for each table's key are in cluster/cluster-deployment.ts.
   */
  shardBy?: string;
}

export type SchemaStep = { kind: 'table'; table: TableSpec } | { kind: 'statement'; sql: string } | { kind: 'column'; table: string; column: string };

/**
 * Where and how tables live. Embedded: plain MergeTree tables. A cluster
 * deployment renders each table as a Replicated*MergeTree local table plus a
 * Distributed table of the plain name, so reads and writes use the same names
 * everywhere.
 */
export interface Deployment {
  database: string;
  /** `ON CLUSTER x` or '' (used for CREATE DATABASE). */
  onCluster: string;
  /** Statements that create one table (idempotently). */
  createTable(table: TableSpec, caps: Capabilities): string[];
  /**
   * Statements that add a column (`name Type ...`) to a table, each with the
   * physical table it alters. `migrate` runs one only when system.columns
   * says that table lacks the column: ClickHouse 18.16 has no
   * `ADD COLUMN IF NOT EXISTS` (its parser stops at `EXISTS`).
   */
  addColumn(table: string, column: string): { table: string; sql: string }[];
}

/**
 * `storagePolicy` puts every table on that policy (the encrypted disk, when
 * encryption at rest is on): named in the table itself, a table cannot load
 * without the policy's configuration, rather than load empty.
 */
export const embeddedDeployment = (database = 'meshlog', opts: { storagePolicy?: string } = {}): Deployment => ({
  database,
  onCluster: '',
  createTable: (t) => {
    const settings = [...t.settings, ...(opts.storagePolicy ? [`storage_policy = '${opts.storagePolicy}'`] : [])];
    return [
      `CREATE TABLE IF NOT EXISTS ${database}.${t.name} (
${t.columns}
) ENGINE = MergeTree
PARTITION BY ${t.partitionBy}
ORDER BY ${t.orderBy}${settings.length > 0 ? `\nSETTINGS ${settings.join(', ')}` : ''}`,
    ];
  },
  addColumn: (table, column) => [{ table, sql: `ALTER TABLE ${database}.${table} ADD COLUMN ${column}` }],
});

export interface Migration {
  version: number;
  description: string;
  steps: (caps: Capabilities) => SchemaStep[];
}

function lc(caps: Capabilities, type: string): string {
  return caps.lowCardinality ? `LowCardinality(${type})` : type;
}

/**
 * A part is fsynced (data files and its directory) before the INSERT returns,
 * so an acknowledged batch survives power loss, not only a process crash.
 */
function durability(caps: Capabilities): string[] {
  return [
    ...(caps.fsyncSettings ? ['fsync_after_insert = 1', 'fsync_part_directory = 1'] : []),
    // Lets a replayed insert with the same deduplication token be ignored.
    ...(caps.nonReplicatedDedup ? ['non_replicated_deduplication_window = 1000'] : []),
  ];
}

/** Event time in seconds; `ts` is an ALIAS of it (computed on read, nothing stored). */
const TS_OF_LOGS = 'toDateTime(intDiv(timestamp_ns, 1000000000))';

/**
 * Bigger compression blocks give ZSTD more context on log bodies (measured:
 * -1 B/record at level 3, -1.0 to -3 B at level 9); the settings are MergeTree
 * settings of newer servers only.
 */
function compressionBlocks(caps: Capabilities): string[] {
  return caps.codecs ? ['min_compress_block_size = 1048576', 'max_compress_block_size = 4194304'] : [];
}

/**
 * Small control tables (retention): durable like the data, but without the
 * block deduplication window, so two identical rows are never merged into one.
 */
function fsyncOnly(caps: Capabilities): string[] {
  return caps.fsyncSettings ? ['fsync_after_insert = 1', 'fsync_part_directory = 1'] : [];
}

function codec(caps: Capabilities, c: string): string {
  return caps.codecs ? ` CODEC(${c})` : '';
}

/**
 * The columns of a table of log records (logs, audit_log). The body n-gram
 * filter is for `|=` searches over everything; the audit log is searched by
 * actor, action and time, so it goes without.
 */
function logColumns(caps: Capabilities, bodyIndex: boolean): string {
  const indexes = caps.skipIndexes
    ? (bodyIndex ? `,
  INDEX idx_body_ngrams body TYPE ngrambf_v1(3, 65536, 2, 0) GRANULARITY 1` : '') +
      `,
  INDEX idx_trace_id trace_id TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_ingest_seq ingest_seq TYPE minmax GRANULARITY 1`
    : '';
  return `  tenant ${lc(caps, 'String')},
  timestamp_ns UInt64${codec(caps, 'DoubleDelta, ZSTD(1)')},
  ts DateTime ALIAS toDateTime(intDiv(timestamp_ns, 1000000000)),
  observed_ns UInt64${codec(caps, 'DoubleDelta, ZSTD(1)')},
  service_name ${lc(caps, 'String')},
  labels_keys Array(${lc(caps, 'String')}),
  labels_values Array(${lc(caps, 'String')}),
  stream_id UInt64 MATERIALIZED cityHash64(labels_keys, labels_values),
  severity_number UInt8,
  severity_text ${lc(caps, 'String')},
  body String${codec(caps, 'ZSTD(6)')},
  trace_id String${codec(caps, 'ZSTD(1)')},
  span_id String${codec(caps, 'ZSTD(1)')},
  flags UInt32,
  attr_keys Array(${lc(caps, 'String')}),
  attr_values Array(String)${codec(caps, 'ZSTD(3)')},
  res_keys Array(${lc(caps, 'String')}),
  res_values Array(${lc(caps, 'String')}),
  scope_name ${lc(caps, 'String')},
  source ${lc(caps, 'String')},
  ingest_seq UInt64${codec(caps, 'Delta, ZSTD(1)')}${indexes}`;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'logs and spans tables',
    steps: (caps) => {
      return [
        {
          kind: 'table',
          table: {
            name: 'logs',
            columns: logColumns(caps, true),
            partitionBy: `(tenant, toYYYYMMDD(${TS_OF_LOGS}))`,
            orderBy: '(tenant, service_name, stream_id, timestamp_ns)',
            settings: ['index_granularity = 8192', ...compressionBlocks(caps), ...durability(caps)],
            shardBy: 'cityHash64(tenant, labels_keys, labels_values)',
          },
        },
        {
          kind: 'table',
          table: {
            name: 'spans',
            columns: `  tenant ${lc(caps, 'String')},
  trace_id String,
  span_id String,
  parent_span_id String,
  start_ns UInt64${codec(caps, 'DoubleDelta, ZSTD(1)')},
  end_ns UInt64${codec(caps, 'DoubleDelta, ZSTD(1)')},
  ts DateTime MATERIALIZED toDateTime(intDiv(start_ns, 1000000000)),
  name ${lc(caps, 'String')},
  kind UInt8,
  service_name ${lc(caps, 'String')},
  status_code UInt8,
  status_message String,
  attr_keys Array(${lc(caps, 'String')}),
  attr_values Array(String)${codec(caps, 'ZSTD(3)')},
  res_keys Array(${lc(caps, 'String')}),
  res_values Array(${lc(caps, 'String')}),
  events String${codec(caps, 'ZSTD(3)')},
  source ${lc(caps, 'String')},
  ingest_seq UInt64${codec(caps, 'Delta, ZSTD(1)')}`,
            partitionBy: '(tenant, toYYYYMMDD(ts))',
            orderBy: '(tenant, trace_id, start_ns)',
            settings: ['index_granularity = 8192', ...durability(caps)],
            shardBy: 'cityHash64(tenant, trace_id)',
          },
        },
      ];
    },
  },
  {
    version: 2,
    description: 'retention: policies, legal holds, their change log, deletion records',
    // Drawn in packages/store/src/retention/README.md. Policies and holds are
    // append-only versions (current = latest version per id): plain
    // MergeTree, no mutations, runs on 18.16 and behind Distributed tables.
    steps: (caps) => [
      {
        kind: 'table',
        table: {
          name: 'retention_policies',
          columns: `  tenant ${lc(caps, 'String')},
  id String,
  version UInt64,
  selector String,
  keep_days UInt32,
  deleted UInt8,
  changed_by String,
  changed_at_ms UInt64`,
          partitionBy: 'tuple()',
          orderBy: '(tenant, id, version)',
          settings: fsyncOnly(caps),
        },
      },
      {
        kind: 'table',
        table: {
          name: 'legal_holds',
          columns: `  tenant ${lc(caps, 'String')},
  id String,
  version UInt64,
  selector String,
  from_ns UInt64,
  to_ns UInt64,
  reason String,
  created_by String,
  created_at_ms UInt64,
  released UInt8,
  changed_by String,
  changed_at_ms UInt64`,
          partitionBy: 'tuple()',
          orderBy: '(tenant, id, version)',
          settings: fsyncOnly(caps),
        },
      },
      {
        kind: 'table',
        table: {
          name: 'retention_changes',
          columns: `  tenant ${lc(caps, 'String')},
  id String,
  at_ms UInt64,
  actor String,
  object_kind ${lc(caps, 'String')},
  object_id String,
  action ${lc(caps, 'String')},
  before String,
  after String`,
          partitionBy: 'tuple()',
          orderBy: '(tenant, at_ms, id)',
          settings: fsyncOnly(caps),
        },
      },
      {
        kind: 'table',
        table: {
          name: 'deletions',
          columns: `  tenant ${lc(caps, 'String')},
  id String,
  run_id String,
  table_name ${lc(caps, 'String')},
  partition String,
  policy_id String,
  selector String,
  from_ns UInt64,
  to_ns UInt64,
  rows UInt64,
  method ${lc(caps, 'String')},
  started_at_ms UInt64,
  finished_at_ms UInt64,
  approved_by String`,
          partitionBy: 'tuple()',
          orderBy: '(tenant, started_at_ms, id)',
          settings: fsyncOnly(caps),
        },
      },
    ],
  },
  {
    version: 3,
    description: 'audit_log: the audit trail, a table of log records no ingest path writes',
    // Same columns as logs (LogQL reads it the same way). Ordered by time
    // within a tenant: audit reads are "what happened between t1 and t2".
    // Append-only: nothing in Meshlog updates it; only retention, after a
    // second admin's approval, drops whole partitions.
    steps: (caps) => [
      {
        kind: 'table',
        table: {
          name: 'audit_log',
          columns: logColumns(caps, false),
          partitionBy: `(tenant, toYYYYMMDD(${TS_OF_LOGS}))`,
          orderBy: '(tenant, timestamp_ns)',
          settings: ['index_granularity = 8192', ...durability(caps)],
          shardBy: 'cityHash64(tenant)',
        },
      },
    ],
  },
  {
    version: 4,
    description: 'approvals: requests that need a second admin (segregation of duties)',
    // Drawn in packages/store/src/approvals/approval-catalog.ts. Append-only
    // versions like the retention tables: a request's history is its rows.
    steps: (caps) => [
      {
        kind: 'table',
        table: {
          name: 'approvals',
          columns: `  tenant ${lc(caps, 'String')},
  id String,
  version UInt64,
  kind ${lc(caps, 'String')},
  summary String,
  payload String,
  status ${lc(caps, 'String')},
  requested_by String,
  requested_at_ms UInt64,
  expires_at_ms UInt64,
  decided_by String,
  decided_at_ms UInt64,
  note String,
  result String,
  changed_at_ms UInt64`,
          partitionBy: 'tuple()',
          orderBy: '(tenant, id, version)',
          settings: fsyncOnly(caps),
        },
      },
    ],
  },
  {
    version: 5,
    description: 'ingest_row: each row\'s ordinal in its WAL group, so the integrity ledger can find and order a batch\'s rows',
    steps: () => ['logs', 'spans', 'audit_log'].map((table) => ({ kind: 'column' as const, table, column: 'ingest_row UInt32 DEFAULT 0' })),
  },
];

export const MIGRATIONS_TABLE = 'schema_migrations';
