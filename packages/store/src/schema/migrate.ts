/**
 * Applies `MIGRATIONS` that are not yet recorded as applied. Safe to run
 * again. When every migration is already recorded it runs no DDL at all: in
 * a cluster each CREATE is an ON CLUSTER task for every host, and many
 * meshlog servers start against the same cluster.
 */
import type { SqlBackend } from '../backend.js';
import type { Capabilities } from './capabilities.js';
import { MIGRATIONS, MIGRATIONS_TABLE, type Deployment } from './migrations.js';

export async function migrate(backend: SqlBackend, caps: Capabilities, deployment: Deployment): Promise<number[]> {
  const db = deployment.database;
  const recorded = await appliedVersions(backend, db);
  if (recorded && MIGRATIONS.every((m) => recorded.has(m.version))) return [];
  await backend.exec(`CREATE DATABASE IF NOT EXISTS ${db} ${deployment.onCluster}`);
  for (const sql of deployment.createTable(
    { name: MIGRATIONS_TABLE, columns: '  version UInt32,\n  description String,\n  applied_at DateTime', partitionBy: 'tuple()', orderBy: 'version', settings: [] },
    caps,
  )) {
    await backend.exec(sql);
  }
  const applied = (await appliedVersions(backend, db)) ?? new Set<number>();
  const ran: number[] = [];
  for (const m of MIGRATIONS) {
    if (applied.has(m.version)) continue;
    for (const step of m.steps(caps)) {
      if (step.kind === 'column') {
        await addColumn(backend, deployment, step.table, step.column);
        continue;
      }
      const statements = step.kind === 'table' ? deployment.createTable(step.table, caps) : [step.sql];
      for (const sql of statements) await backend.exec(sql);
    }
    await backend.exec(`INSERT INTO ${db}.${MIGRATIONS_TABLE} (version, description, applied_at) VALUES ({v:UInt32}, {d:String}, now())`, {
      params: { v: m.version, d: m.description },
    });
    ran.push(m.version);
  }
  return ran;
}

/**
 * Adds a column where it is missing. No `IF NOT EXISTS` (18.16 lacks it):
 * system.columns is asked first, so a run interrupted after some tables got
 * the column goes on with the rest. In a cluster an ON CLUSTER ALTER can
 * still meet a host that has the column (an earlier run stopped half way
 * through the hosts): that host refuses with "already exists" after the
 * others applied it, which is the state wanted, so that refusal is not an
 * error.
 */
async function addColumn(backend: SqlBackend, deployment: Deployment, table: string, column: string): Promise<void> {
  const name = column.trim().split(/\s+/)[0]!;
  for (const step of deployment.addColumn(table, column)) {
    const has = await backend.query<{ n: number | string }>('SELECT count() AS n FROM system.columns WHERE database = {db:String} AND table = {t:String} AND name = {c:String}', {
      params: { db: deployment.database, t: step.table, c: name },
    });
    if (Number(has.rows[0]?.n ?? 0) > 0) continue;
    try {
      await backend.exec(step.sql);
    } catch (err) {
      if (!/already exists/i.test((err as Error).message)) throw err;
    }
  }
}

/** Versions recorded as applied, or undefined when the migrations table does not exist yet. */
async function appliedVersions(backend: SqlBackend, db: string): Promise<Set<number> | undefined> {
  const t = await backend.query<{ n: number | string }>('SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = {t:String}', {
    params: { db, t: MIGRATIONS_TABLE },
  });
  if (Number(t.rows[0]?.n ?? 0) === 0) return undefined;
  const done = await backend.query<{ version: number | string }>(`SELECT version FROM ${db}.${MIGRATIONS_TABLE}`);
  return new Set(done.rows.map((r) => Number(r.version)));
}
