/**
 * The ingest write-ahead log on the server's Prometheus registry, read at
 * scrape time from the store's WAL stats (embedded store only; a cluster
 * store has no WAL and these series are absent).
 *
 * Why: acknowledged records stay in the WAL until the store takes them, and
 * the applier retries a failing insert forever rather than drop them. Without
 * these series an operator could not tell a stuck applier (the backlog grows,
 * then senders get backpressure) from a quiet one. Alert on
 * `meshlog_wal_failing_seconds > 60` or a rising
 * `meshlog_wal_backlog_records`.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { LogStore } from '@meshlog/store';

export function registerWalMetrics(registry: Registry, store: LogStore): void {
  const stats = () => store.walStats;
  const gauge = (name: string, help: string, read: (s: NonNullable<ReturnType<typeof stats>>) => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const s = stats();
        if (s) this.set(read(s));
      },
    });
  };
  // Counters read a running total: add what was counted since the last scrape.
  const counter = (name: string, help: string, read: (s: NonNullable<ReturnType<typeof stats>>) => number): void => {
    let seen = 0;
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const s = stats();
        if (!s) return;
        const now = read(s);
        if (now > seen) this.inc(now - seen);
        seen = now;
      },
    });
  };
  gauge('meshlog_wal_backlog_records', 'Acknowledged records in the ingest WAL that the store has not taken yet.', (s) => s.backlogRecords);
  gauge('meshlog_wal_committed_seq', 'Sequence number of the last group made durable in the ingest WAL.', (s) => Number(s.committedSeq));
  gauge('meshlog_wal_applied_seq', 'Sequence number of the last group the store took.', (s) => Number(s.appliedSeq));
  gauge('meshlog_wal_segments', 'Segment files of the ingest WAL on disk.', (s) => s.segments);
  gauge('meshlog_wal_failing_seconds', 'How long the store has been refusing the WAL applier\'s inserts (0 when it is not).', (s) => (s.failingSince ? (Date.now() - s.failingSince.getTime()) / 1000 : 0));
  counter('meshlog_wal_apply_failures_total', 'Store inserts from the WAL that failed and were retried.', (s) => s.applyFailures);
  counter('meshlog_wal_deduplicated_batches_total', 'Batches the WAL recognised as resent (same idempotency key) and did not store twice.', (s) => s.deduplicatedBatches);
  counter('meshlog_wal_damaged_groups_total', 'WAL groups found damaged at recovery (checksum mismatch) and skipped.', (s) => s.damagedGroups);
  counter('meshlog_wal_truncated_bytes_total', 'Bytes of a torn WAL tail cut off at recovery.', (s) => s.truncatedBytes);
}
