/**
 * Versioned schema migrations, run at every start. Each statement is
 * idempotent (`IF NOT EXISTS`), and applied versions are recorded, so a run
 * interrupted half way is simply run again.
 *
 * Table layout (logs):
 *
 *   ORDER BY (tenant, service_name, stream_id, timestamp_ns)
 *   PARTITION BY (tenant, toYYYYMMDD(ts))     -- retention = drop partition
 *
 *   tenant        LowCardinality(String)  isolation key, first in every WHERE
 *   timestamp_ns  UInt64                  event time, ns (no DateTime64 on 18.16)
 *   ts            DateTime MATERIALIZED   seconds, for partitions and pruning
 *   observed_ns   UInt64
 *   service_name  LowCardinality(String)  the hottest stream label, own column
 *   labels_keys / labels_values           stream labels, parallel arrays
 *   stream_id     UInt64 MATERIALIZED     cityHash64 of the label arrays
 *   severity_number UInt8, severity_text
 *   body          String                  ZSTD; token bloom filter when available
 *   trace_id, span_id String              hex; bloom filter on trace_id
 *   flags         UInt32
 *   attr_keys / attr_values               structured metadata (record attributes)
 *   res_keys / res_values                 resource attributes
 *   scope_name    LowCardinality(String)
 *   source        LowCardinality(String)  the component that accepted it
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
}

export type SchemaStep = { kind: 'table'; table: TableSpec } | { kind: 'statement'; sql: string };

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

function codec(caps: Capabilities, c: string): string {
  return caps.codecs ? ` CODEC(${c})` : '';
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'logs and spans tables',
    steps: (caps) => {
      const logsIndexes = caps.skipIndexes
        ? `,
  INDEX idx_body_tokens body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1,
  INDEX idx_trace_id trace_id TYPE bloom_filter(0.01) GRANULARITY 1`
        : '';
      return [
        {
          kind: 'table',
          table: {
            name: 'logs',
            columns: `  tenant ${lc(caps, 'String')},
  timestamp_ns UInt64${codec(caps, 'DoubleDelta, ZSTD(1)')},
  ts DateTime MATERIALIZED toDateTime(intDiv(timestamp_ns, 1000000000)),
  observed_ns UInt64${codec(caps, 'DoubleDelta, ZSTD(1)')},
  service_name ${lc(caps, 'String')},
  labels_keys Array(${lc(caps, 'String')}),
  labels_values Array(${lc(caps, 'String')}),
  stream_id UInt64 MATERIALIZED cityHash64(labels_keys, labels_values),
  severity_number UInt8,
  severity_text ${lc(caps, 'String')},
  body String${codec(caps, 'ZSTD(3)')},
  trace_id String${codec(caps, 'ZSTD(1)')},
  span_id String${codec(caps, 'ZSTD(1)')},
  flags UInt32,
  attr_keys Array(${lc(caps, 'String')}),
  attr_values Array(String)${codec(caps, 'ZSTD(3)')},
  res_keys Array(${lc(caps, 'String')}),
  res_values Array(${lc(caps, 'String')}),
  scope_name ${lc(caps, 'String')},
  source ${lc(caps, 'String')}${logsIndexes}`,
            partitionBy: '(tenant, toYYYYMMDD(ts))',
            orderBy: '(tenant, service_name, stream_id, timestamp_ns)',
            settings: ['index_granularity = 8192', ...durability(caps)],
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
  source ${lc(caps, 'String')}`,
            partitionBy: '(tenant, toYYYYMMDD(ts))',
            orderBy: '(tenant, trace_id, start_ns)',
            settings: ['index_granularity = 8192', ...durability(caps)],
          },
        },
      ];
    },
  },
];

export const MIGRATIONS_TABLE = 'schema_migrations';
