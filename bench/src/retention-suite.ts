/**
 * Retention benchmark (`npm run bench -- retention [--records N]`): how much
 * the ways of deleting cost on the embedded store, with the real schema.
 *
 * Fills `meshlog.logs` (embedded chDB, temp dir) with N records over 20 days
 * in two namespaces, then measures on separate day partitions of equal size:
 * listing partitions from part metadata, the classification count, DROP
 * PARTITION, `ALTER TABLE ... DELETE` (mutations_sync = 2) of half a
 * partition, a lightweight `DELETE FROM` of half a partition (and how many of
 * its rows are still on disk afterwards), and one whole enforcement run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChdbBackend, DAY_NS, LOGS_TABLE, LogStore, RetentionService, classifySql, listPartitionsSql, rulesForTenant, canonicalSelector, policyIdFor } from '@meshlog/store';
import { printTable, type Figures } from './results.js';

const DAYS = 20;
const NS_LABEL = "labels_values[indexOf(labels_keys, 'k8s_namespace_name')]";

export async function retentionSuite(opts: { records: number; keep: boolean }): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'meshlog-bench-retention-'));
  const store = await LogStore.open(new ChdbBackend({ dataDir: dir }));
  const db = store.database;
  const b = store.backend;
  const perDay = Math.floor(opts.records / DAYS);
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  // Day d (0 = today) holds perDay records, half payments, half shop; midnight-aligned so each day is one partition.
  const today = (nowNs / DAY_NS) * DAY_NS;
  const t = performance.now();
  await b.exec(
    `INSERT INTO ${db}.logs (tenant, timestamp_ns, observed_ns, service_name, labels_keys, labels_values, severity_number, severity_text, body, trace_id, span_id, flags, attr_keys, attr_values, res_keys, res_values, scope_name, source)
SELECT 'bench', ts, ts, svc, ['k8s_namespace_name', 'service_name'], [ns, svc], 9, 'INFO',
  concat('GET /api/v1/orders/', toString(number), ' ', toString(200 + (number % 7) * 50), ' ', toString(rand() % 100000), 'us upstream=', svc), '', '', 0, [], [], [], [], '', 'bench'
FROM (SELECT number, if(number % 2 = 0, 'payments', 'shop') AS ns, concat(ns, '-api-', toString(number % 5)) AS svc,
  toUInt64({today:UInt64} - intDiv(number, {perDay:UInt64}) * {day:UInt64} - (number % {perDay:UInt64}) * intDiv({day:UInt64}, {perDay:UInt64}) - 1) AS ts
  FROM numbers({n:UInt64}))`,
    { params: { today: today.toString(), perDay, day: DAY_NS.toString(), n: perDay * DAYS } },
  );
  await b.exec(`OPTIMIZE TABLE ${db}.logs FINAL`);
  const fillS = (performance.now() - t) / 1000;

  const time = async (fn: () => Promise<unknown>): Promise<number> => {
    const s = performance.now();
    await fn();
    return performance.now() - s;
  };
  const dayOf = (daysAgo: number): number => {
    const d = new Date(Number((today - BigInt(daysAgo) * DAY_NS - 1n) / 1_000_000n));
    return d.getUTCFullYear() * 10000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate();
  };

  const list = listPartitionsSql(db, LOGS_TABLE, 'bench');
  let listed = 0;
  let listRowsRead = 0;
  const listMs = await time(async () => {
    const r = await b.query(list.sql, { params: list.params });
    listed = r.rows.length;
    listRowsRead = r.rowsRead;
  });

  const payments = canonicalSelector('{k8s_namespace_name="payments"}').text;
  const rules = rulesForTenant(
    [{ id: policyIdFor('bench', payments), tenant: 'bench', selector: payments, keep_days: 15, updated_by: 'bench', updated_at: '' }],
    5,
  );
  const classify = classifySql(db, LOGS_TABLE, { tenant: 'bench', days: Array.from({ length: DAYS }, (_, i) => dayOf(i)), rules, holds: [], nowNs });
  const classifyMs = await time(() => b.query(classify.sql, { params: classify.params }));

  const day = (d: number): string => `tenant = 'bench' AND toYYYYMMDD(toDateTime(intDiv(timestamp_ns, 1000000000))) = ${dayOf(d)}`;
  const dropMs = await time(() => b.exec(`ALTER TABLE ${db}.logs DROP PARTITION tuple('bench', ${dayOf(19)})`, { maintenance: true }));
  const mutationMs = await time(() => b.exec(`ALTER TABLE ${db}.logs DELETE WHERE ${day(18)} AND ${NS_LABEL} = 'shop' SETTINGS mutations_sync = 2`, { maintenance: true }));
  const mutationNothingMs = await time(() => b.exec(`ALTER TABLE ${db}.logs DELETE WHERE ${day(18)} AND ${NS_LABEL} = 'nowhere' SETTINGS mutations_sync = 2`, { maintenance: true }));
  const lightweightMs = await time(() => b.exec(`DELETE FROM ${db}.logs WHERE ${day(17)} AND ${NS_LABEL} = 'shop'`, { maintenance: true }));
  const onDisk = await b.query<{ n: string }>(`SELECT count() AS n FROM ${db}.logs WHERE ${day(17)} SETTINGS apply_deleted_mask = 0`);
  const visible = await b.query<{ n: string }>(`SELECT count() AS n FROM ${db}.logs WHERE ${day(17)}`);

  // A whole run: shop past 5 days, payments past 15: 4 days dropped whole (15..18 minus the ones above), 10 days half-deleted.
  const retention = new RetentionService(store, { defaultKeepDays: 5, now: () => nowNs });
  await retention.putPolicy('bench', { selector: payments, keep_days: 15 }, 'bench');
  let records = 0;
  let rows = 0;
  const runMs = await time(async () => {
    const r = await retention.enforce({ tenant: 'bench' });
    records = r.records.length;
    rows = r.records.reduce((n, x) => n + x.rows, 0);
  });
  const againMs = await time(() => retention.enforce({ tenant: 'bench' }));

  await store.close();
  if (!opts.keep) rmSync(dir, { recursive: true, force: true });

  const figures: Figures = {
    'retention.records': perDay * DAYS,
    'retention.rows_per_partition': perDay,
    'retention.list_partitions_ms': round(listMs),
    'retention.list_partitions_rows_read': listRowsRead,
    'retention.classify_all_partitions_ms': round(classifyMs),
    'retention.drop_partition_ms': round(dropMs),
    'retention.alter_delete_half_partition_ms': round(mutationMs),
    'retention.alter_delete_matching_nothing_ms': round(mutationNothingMs),
    'retention.lightweight_delete_half_partition_ms': round(lightweightMs),
    'retention.lightweight_delete_rows_still_on_disk': Number(onDisk.rows[0]?.n ?? 0) - Number(visible.rows[0]?.n ?? 0),
    'retention.enforce_run_ms': round(runMs),
    'retention.enforce_run_rows_deleted': rows,
    'retention.enforce_run_records': records,
    'retention.enforce_nothing_to_do_ms': round(againMs),
  };
  printTable(`retention (embedded chDB, ${(perDay * DAYS).toLocaleString('en-US')} records over ${DAYS} days, filled in ${fillS.toFixed(1)} s)`, [
    ['list partitions (part metadata)', round(listMs), `ms, ${listed} partitions, ${listRowsRead} rows read`],
    ['count past policy, all partitions', round(classifyMs), 'ms (one SELECT, the same predicate as the delete)'],
    ['DROP PARTITION (one day)', round(dropMs), `ms, ${perDay.toLocaleString('en-US')} rows`],
    ['ALTER DELETE, half a day (mutations_sync=2)', round(mutationMs), 'ms, rows rewritten out of the parts'],
    ['ALTER DELETE matching no row', round(mutationNothingMs), 'ms (the fixed cost of a mutation)'],
    ['lightweight DELETE, half a day', round(lightweightMs), 'ms, rows only masked'],
    ['  rows still on disk after it', figures['retention.lightweight_delete_rows_still_on_disk']!, 'until a merge rewrites the part'],
    ['enforcement run (payments 15 d, rest 5 d)', round(runMs), `ms, ${rows.toLocaleString('en-US')} rows, ${records} records`],
    ['enforcement run, nothing left to do', round(againMs), 'ms'],
  ]);
  return figures;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
