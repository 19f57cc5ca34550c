/**
 * Benchmark entry point: `npm run bench -- <suite> [options]`. Suites are
 * listed explicitly; each returns its figures, which are printed and merged
 * into bench/results/latest.json.
 */
import { parseArgs } from 'node:util';
import { saveResults } from './results.js';
import { storageSuite } from './storage-suite.js';
import { retentionSuite } from './retention-suite.js';
import { ingestSuite } from './ingest-suite.js';
import { normalizeSuite } from './normalize-suite.js';
import { integritySuite } from './integrity-suite.js';
import { agentSuite } from './agent-suite.js';

const SUITES = ['storage', 'ingest', 'retention', 'normalize', 'integrity', 'agent'] as const;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    records: { type: 'string' },
    /** ingest: syslog messages per receiver. */
    messages: { type: 'string' },
    seed: { type: 'string', default: '42' },
    concurrency: { type: 'string', default: '4' },
    keep: { type: 'boolean', default: false },
    plaintext: { type: 'boolean', default: false },
    'server-records': { type: 'string' },
    rounds: { type: 'string' },
    /** agent: size of the tailed file. */
    mib: { type: 'string' },
    /** agent: which runs (receiver,server,rsyslog,syslog-ng; all by default). */
    parts: { type: 'string' },
  },
});

const requested = positionals.length > 0 ? positionals : [...SUITES];
for (const suite of requested) {
  if (!(SUITES as readonly string[]).includes(suite)) {
    process.stderr.write(`bench: unknown suite ${JSON.stringify(suite)}; suites: ${SUITES.join(', ')}\n`);
    process.exit(2);
  }
}
for (const suite of requested) {
  if (suite === 'storage') {
    const figures = await storageSuite({
      records: Number(values.records ?? 1_000_000),
      seed: Number(values.seed),
      concurrency: Number(values.concurrency),
      keep: values.keep,
      plaintext: values.plaintext,
    });
    saveResults('storage', figures);
  }
  if (suite === 'ingest') {
    const figures = await ingestSuite({
      records: Number(values.records ?? 300_000),
      messages: Number(values.messages ?? 500_000),
      seed: Number(values.seed),
      concurrency: Number(values.concurrency),
      keep: values.keep,
    });
    saveResults('ingest', figures);
  }
  if (suite === 'retention') {
    saveResults('retention', await retentionSuite({ records: Number(values.records ?? 4_000_000), keep: values.keep }));
  }
  if (suite === 'normalize') {
    saveResults(
      'normalize',
      await normalizeSuite({ records: Number(values.records ?? 200_000), seed: Number(values.seed), serverRecords: Number(values['server-records'] ?? 200_000), rounds: Number(values.rounds ?? 3) }),
    );
  }
  if (suite === 'integrity') {
    saveResults(
      'integrity',
      await integritySuite({ records: Number(values.records ?? 200_000), rounds: Number(values.rounds ?? 3), seed: Number(values.seed), concurrency: Number(values.concurrency), keep: values.keep }),
    );
  }
  if (suite === 'agent') saveResults('agent', await agentSuite({ mib: Number(values.mib ?? 256), keep: values.keep, parts: values.parts }));
}
process.stdout.write(`\nresults merged into bench/results/latest.json\n`);
