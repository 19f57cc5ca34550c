/** Applies `MIGRATIONS` that are not yet recorded as applied. Safe to run again. */
import type { SqlBackend } from '../backend.js';
import type { Capabilities } from './capabilities.js';
import { MIGRATIONS, MIGRATIONS_TABLE, type Deployment } from './migrations.js';

export async function migrate(backend: SqlBackend, caps: Capabilities, deployment: Deployment): Promise<number[]> {
  const db = deployment.database;
  await backend.exec(`CREATE DATABASE IF NOT EXISTS ${db} ${deployment.onCluster}`);
  for (const sql of deployment.createTable(
    { name: MIGRATIONS_TABLE, columns: '  version UInt32,\n  description String,\n  applied_at DateTime', partitionBy: 'tuple()', orderBy: 'version', settings: [] },
    caps,
  )) {
    await backend.exec(sql);
  }
  const done = await backend.query<{ version: number | string }>(`SELECT version FROM ${db}.${MIGRATIONS_TABLE}`);
  const applied = new Set(done.rows.map((r) => Number(r.version)));
  const ran: number[] = [];
  for (const m of MIGRATIONS) {
    if (applied.has(m.version)) continue;
    for (const step of m.steps(caps)) {
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
