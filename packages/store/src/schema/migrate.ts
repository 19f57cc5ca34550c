/** Applies `MIGRATIONS` that are not yet recorded as applied. Safe to run again. */
import type { SqlBackend } from '../backend.js';
import type { Capabilities } from './capabilities.js';
import { MIGRATIONS, MIGRATIONS_TABLE, type SchemaNames } from './migrations.js';

export async function migrate(backend: SqlBackend, caps: Capabilities, names: SchemaNames): Promise<number[]> {
  const db = names.database;
  await backend.exec(`CREATE DATABASE IF NOT EXISTS ${db} ${names.onCluster}`);
  await backend.exec(
    `CREATE TABLE IF NOT EXISTS ${db}.${MIGRATIONS_TABLE} ${names.onCluster} (version UInt32, description String, applied_at DateTime) ENGINE = ${names.engine(MIGRATIONS_TABLE)} ORDER BY version`,
  );
  const done = await backend.query<{ version: number | string }>(`SELECT version FROM ${db}.${MIGRATIONS_TABLE}`);
  const applied = new Set(done.rows.map((r) => Number(r.version)));
  const ran: number[] = [];
  for (const m of MIGRATIONS) {
    if (applied.has(m.version)) continue;
    for (const sql of m.statements(caps, names)) await backend.exec(sql);
    await backend.exec(`INSERT INTO ${db}.${MIGRATIONS_TABLE} (version, description, applied_at) VALUES ({v:UInt32}, {d:String}, now())`, {
      params: { v: m.version, d: m.description },
    });
    ran.push(m.version);
  }
  return ran;
}
