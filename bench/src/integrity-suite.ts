/**
 * `npm run bench -- integrity [--records N] [--rounds R] [--concurrency C] [--seed S] [--keep]`
 *
 * The cost of the integrity ledger and the speed of verifying it:
 *
 * - ingest with the ledger on and off: a `meshlog server` child process
 *   ingesting the storage benchmark's dataset (dataset.ts: Istio access logs
 *   and app logs, OTLP/HTTP protobuf, durable acks) into a fresh data dir,
 *   `integrity.enabled` true or false, in alternating rounds (off, on, off,
 *   on, ...) so that load on the shared machine falls on both alike. Per
 *   round: records/s (wall, until the last acknowledgement) and records per
 *   server CPU second (until the server is idle: the WAL applier's inserts
 *   are part of a record's cost). `integrity.ledger_overhead_ratio` is the
 *   median over rounds of throughput off / throughput on within the round
 *   (1.00: free; the target is at most 1.10); the same ratio over CPU is
 *   beside it, as it holds better on a shared machine.
 * - verify: after the last ledger-on round, `meshlog export` of everything
 *   the server holds, then `meshlog verify` of that bundle, each as the real
 *   CLI process an auditor runs; records/s = records the verifier
 *   recomputed / its wall time.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeDataset } from './dataset.js';
import { startBenchServer, type BenchServer } from './server-child.js';
import { otlpTarget, postAll } from './http-post.js';
import { median, printTable, type Figures } from './results.js';

const BIN = fileURLToPath(new URL('../../packages/cli/bin/meshlog.js', import.meta.url));

export interface IntegrityOptions {
  records: number;
  rounds: number;
  seed: number;
  concurrency: number;
  keep: boolean;
}

type Mode = 'off' | 'on';

export async function integritySuite(opts: IntegrityOptions): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'meshlog-bench-integrity-'));
  const payloadPath = join(dir, 'payloads.bin');
  log(`generating ${opts.records.toLocaleString()} records in ${dir}`);
  const ds = await writeDataset({ seed: opts.seed, count: opts.records, endMs: Date.now(), ndjsonPath: join(dir, 'dataset.ndjson'), payloadPath });
  const configs: Record<Mode, string> = { off: join(dir, 'ledger-off.yaml'), on: join(dir, 'ledger-on.yaml') };
  writeFileSync(configs.off, 'integrity:\n  enabled: false\n');
  // The key outside every data dir, shared by the rounds (as a server keeps its key across restarts).
  writeFileSync(configs.on, `integrity:\n  enabled: true\n  key_file: ${join(dir, 'integrity-key', 'signing-key.pem')}\n`);

  const wall: Record<Mode, number[]> = { off: [], on: [] };
  const cpu: Record<Mode, number[]> = { off: [], on: [] };
  let verified: { records: number; exportSeconds: number; verifySeconds: number; bundleBytes: number } | undefined;
  for (let round = 0; round < opts.rounds; round++) {
    for (const mode of ['off', 'on'] as const) {
      const dataDir = join(dir, `data-${mode}-${round}`);
      const server = await startBenchServer(dataDir, ['--config', configs[mode]]);
      const cpu0 = server.cpuSeconds();
      const posted = await postAll(server, payloadPath, otlpTarget('application/x-protobuf'), opts.concurrency);
      await untilIdle(server);
      const cpuSeconds = server.cpuSeconds() - cpu0;
      wall[mode].push(ds.records / posted.seconds);
      cpu[mode].push(ds.records / cpuSeconds);
      log(
        `round ${round + 1} ledger ${mode}: ${Math.round(ds.records / posted.seconds).toLocaleString()} records/s, ${Math.round(ds.records / cpuSeconds).toLocaleString()} records per server CPU second (${posted.retries} retried)`,
      );
      if (mode === 'on' && round === opts.rounds - 1) verified = await exportAndVerify(server, dir, join(dir, 'integrity-key', 'signing-key.pem.pub'));
      await server.stop();
      if (!opts.keep) rmSync(dataDir, { recursive: true, force: true });
    }
  }
  if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  else log(`kept ${dir}`);

  const m = { wallOff: median(wall.off), wallOn: median(wall.on), cpuOff: median(cpu.off), cpuOn: median(cpu.on) };
  // Ratios per round (off and on ran back to back, under the same load), then their median: load that drifts between rounds cancels.
  const paired = (xs: Record<Mode, number[]>): number => median(xs.off.map((off, i) => off / xs.on[i]!));
  const v = verified!;
  const figures: Figures = {
    'integrity.records': ds.records,
    'integrity.rounds': opts.rounds,
    'integrity.ingest_ledger_off_records_per_s': Math.round(m.wallOff),
    'integrity.ingest_ledger_on_records_per_s': Math.round(m.wallOn),
    'integrity.ledger_overhead_ratio': Number(paired(wall).toFixed(3)),
    'integrity.ingest_ledger_off_records_per_cpu_s': Math.round(m.cpuOff),
    'integrity.ingest_ledger_on_records_per_cpu_s': Math.round(m.cpuOn),
    'integrity.ledger_cpu_overhead_ratio': Number(paired(cpu).toFixed(3)),
    'integrity.export_records_per_s': Math.round(v.records / v.exportSeconds),
    'integrity.verify_records_per_s': Math.round(v.records / v.verifySeconds),
    'integrity.bundle_bytes_per_record': Number((v.bundleBytes / v.records).toFixed(1)),
  };
  const spread = (xs: number[]): string => xs.map((x) => Math.round(x).toLocaleString('en-US')).join(' / ');
  printTable(`integrity: ${ds.records.toLocaleString()} records per round, ${opts.rounds} rounds alternating ledger off / on`, [
    ['ingest records/s, ledger off (median)', figures['integrity.ingest_ledger_off_records_per_s']!, `rounds: ${spread(wall.off)}`],
    ['ingest records/s, ledger on (median)', figures['integrity.ingest_ledger_on_records_per_s']!, `rounds: ${spread(wall.on)}`],
    ['ledger overhead ratio (throughput off / on, median of rounds)', figures['integrity.ledger_overhead_ratio']!, 'target <= 1.10'],
    ['records per server CPU s, ledger off', figures['integrity.ingest_ledger_off_records_per_cpu_s']!, `rounds: ${spread(cpu.off)}`],
    ['records per server CPU s, ledger on', figures['integrity.ingest_ledger_on_records_per_cpu_s']!, `rounds: ${spread(cpu.on)}`],
    ['ledger CPU overhead ratio (off / on)', figures['integrity.ledger_cpu_overhead_ratio']!, 'holds better on a shared machine'],
    ['meshlog export records/s', figures['integrity.export_records_per_s']!, `${v.records.toLocaleString()} records in ${v.exportSeconds.toFixed(1)} s`],
    ['meshlog verify records/s', figures['integrity.verify_records_per_s']!, `${v.verifySeconds.toFixed(1)} s, offline, one process`],
    ['bundle bytes per record', figures['integrity.bundle_bytes_per_record']!],
  ]);
  return figures;
}

/** Waits until the server's CPU use settles: the WAL applier's inserts finish after the last acknowledgement. */
async function untilIdle(server: BenchServer): Promise<void> {
  for (let i = 0, last = server.cpuSeconds(); i < 60; i++) {
    await new Promise((res) => setTimeout(res, 500));
    const now = server.cpuSeconds();
    if (now - last < 0.03) return;
    last = now;
  }
}

async function exportAndVerify(server: BenchServer, dir: string, publicKey: string): Promise<{ records: number; exportSeconds: number; verifySeconds: number; bundleBytes: number }> {
  const bundle = join(dir, 'bench.bundle.jsonl');
  let t = performance.now();
  const ex = await cli(['export', '--server', server.url, '--token', server.token, '--out', bundle]);
  const exportSeconds = (performance.now() - t) / 1000;
  if (ex.code !== 0) throw new Error(`meshlog export failed (${ex.code}): ${ex.stderr}`);
  t = performance.now();
  const v = await cli(['verify', bundle, '--public-key', publicKey]);
  const verifySeconds = (performance.now() - t) / 1000;
  if (v.code !== 0) throw new Error(`meshlog verify did not pass on the bench's own data (${v.code}):\n${v.stdout}${v.stderr}`);
  const records = Number(/Records: +(\d+) checked/.exec(v.stdout)?.[1]);
  log(`export ${exportSeconds.toFixed(1)} s, verify ${verifySeconds.toFixed(1)} s, ${records.toLocaleString()} records verified`);
  return { records, exportSeconds, verifySeconds, bundleBytes: statSync(bundle).size };
}

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

function log(msg: string): void {
  process.stderr.write(`[integrity] ${msg}\n`);
}
