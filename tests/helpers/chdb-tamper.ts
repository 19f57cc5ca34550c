/**
 * Runs SQL statements directly against a stopped server's embedded store,
 * bypassing Meshlog, as an attacker with access to the data dir would (the
 * integrity tamper tests). A separate process: chDB keeps one store per
 * process. Usage: node chdb-tamper.js <data dir> <storage key file> <sql>...
 */
import { openEmbeddedStore } from '@meshlog/store';

const [dataDir, keyFile, ...statements] = process.argv.slice(2);
const { store } = await openEmbeddedStore({ dataDir: dataDir!, encryption: { kind: 'key-file', path: keyFile! } });
for (const sql of statements) await store.backend.exec(sql);
await store.close();
