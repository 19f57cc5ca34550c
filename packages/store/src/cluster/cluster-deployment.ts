/**
 * The cluster `Deployment`: every `TableSpec` becomes two tables, created ON
 * CLUSTER so each server gets them:
 *
 *   <db>.<name>_local   ReplicatedMergeTree('/clickhouse/tables/{shard}/<db>/<name>_local', '{replica}')
 *                       the data; one copy per replica of each shard
 *   <db>.<name>         Distributed(<cluster>, <db>, <name>_local, <shard key>)
 *                       no data; reads fan out to one replica per shard,
 *                       inserts are split by the shard key
 *
 * Everything above the store keeps using the plain names, so the query SQL
 * is the same for embedded and cluster.
 *
 * Shard keys (`TableSpec.shardBy`, `rand()` when absent):
 * - logs: `cityHash64(tenant, labels_keys, labels_values)`, the stream. A
 *   stream's lines stay together on one shard (sorted and compressed as on a
 *   single node; Loki's distributors shard by stream the same way), while a
 *   busy service spreads over shards through its many streams (pods). A shard
 *   key of `(tenant, service_name)` would pin the busiest service to one shard.
 * - spans: `cityHash64(tenant, trace_id)`: a whole trace on one shard.
 *
 * Invariants:
 * - the Distributed table declares the local table's MATERIALIZED columns
 *   as ALIAS. ClickHouse 18.16 computes MATERIALIZED columns on the
 *   Distributed table and sends them to the shards, which then refuse the
 *   insert ("Cannot insert column ts, because it is MATERIALIZED column";
 *   `insert_allow_materialized_columns` does not reach the shard's insert).
 *   With ALIAS nothing is sent, each shard computes its own, and a read of
 *   `ts` is forwarded to the shards by name (seen in 18.16's query_log), so
 *   partition pruning by `ts` still happens on the shards;
 * - the Distributed table carries no skip indexes and no codecs (it stores
 *   nothing);
 * - the ZooKeeper path holds the database and table name, so two meshlog
 *   databases on one cluster never share replication state.
 */
import type { Capabilities } from '../schema/capabilities.js';
import type { Deployment, TableSpec } from '../schema/migrations.js';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function clusterDeployment(opts: { cluster: string; database?: string }): Deployment {
  const database = opts.database ?? 'meshlog';
  // Names are spliced into DDL (identifiers cannot be bound): accept plain identifiers only.
  for (const [what, name] of [
    ['cluster', opts.cluster],
    ['database', database],
  ] as const) {
    if (!IDENT.test(name)) throw new Error(`invalid ClickHouse ${what} name ${JSON.stringify(name)}: use letters, digits and underscores`);
  }
  const onCluster = `ON CLUSTER ${opts.cluster}`;
  return {
    database,
    onCluster,
    createTable: (t: TableSpec, _caps: Capabilities): string[] => {
      const local = `${t.name}_local`;
      return [
        `CREATE TABLE IF NOT EXISTS ${database}.${local} ${onCluster} (
${t.columns}
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/${database}/${local}', '{replica}')
PARTITION BY ${t.partitionBy}
ORDER BY ${t.orderBy}${t.settings.length > 0 ? `\nSETTINGS ${t.settings.join(', ')}` : ''}`,
        `CREATE TABLE IF NOT EXISTS ${database}.${t.name} ${onCluster} (
${distributedColumns(t.columns)}
) ENGINE = Distributed(${opts.cluster}, ${database}, ${local}, ${t.shardBy ?? 'rand()'})`,
      ];
    },
    // The local (replicated) table only. ClickHouse refuses ALTER ... ON CLUSTER of a Distributed table on a cluster
    // with internal replication ("Table logs isn't replicated, but shard #2 is replicated", 18.16, tests/cluster), and
    // recreating it would drop the async-insert blocks queued in it (audit records for a shard that is down). The
    // Distributed table reads columns by name, so one without the new column still serves every column it has; inserts
    // through it leave the column out and the local table fills its DEFAULT (rows.ts: no ordinals without the WAL).
    addColumn: (table: string, column: string): { table: string; sql: string }[] => [{ table: `${table}_local`, sql: `ALTER TABLE ${database}.${table}_local ${onCluster} ADD COLUMN ${column}` }],
  };
}

/** Splits a column list at its top-level commas (commas inside parentheses or quotes belong to a type or expression). */
export function splitColumns(columns: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  let quote: string | undefined;
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(columns.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(columns.slice(start).trim());
  return out.filter((c) => c.length > 0);
}

/** Removes a trailing ` CODEC(...)` (balanced parentheses) from a column definition. */
function withoutCodec(column: string): string {
  const at = column.search(/\sCODEC\s*\(/);
  if (at < 0) return column;
  let depth = 0;
  for (let i = column.indexOf('(', at); i < column.length; i++) {
    if (column[i] === '(') depth++;
    else if (column[i] === ')' && --depth === 0) return (column.slice(0, at) + column.slice(i + 1)).trimEnd();
  }
  return column;
}

/** The local table's columns as the Distributed table declares them (see the invariants above). */
export function distributedColumns(columns: string): string {
  return splitColumns(columns)
    .filter((c) => !/^INDEX\s/i.test(c) && !/^PROJECTION\s/i.test(c) && !/^CONSTRAINT\s/i.test(c))
    .map((c) => withoutCodec(c).replace(/\sMATERIALIZED\s/, ' ALIAS '))
    .map((c) => `  ${c}`)
    .join(',\n');
}
