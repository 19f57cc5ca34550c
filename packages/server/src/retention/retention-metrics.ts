/**
 * Retention metrics on the server's Prometheus registry: runs by trigger and
 * outcome, rows deleted by tenant, table and method, rows kept by legal holds
 * at the last run. A failed run is counted here and logged by the scheduler;
 * it never stops the server.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EnforcementResult } from '@meshlog/store';

export type EnforcementTrigger = 'schedule' | 'api';

export class RetentionMetrics {
  private readonly runs: Counter;
  private readonly deletedRows: Counter;
  private readonly heldRows: Gauge;

  constructor(registry: Registry) {
    this.runs = new Counter({ name: 'meshlog_retention_runs_total', help: 'Retention enforcement runs, by trigger and outcome.', labelNames: ['trigger', 'outcome'], registers: [registry] });
    this.deletedRows = new Counter({
      name: 'meshlog_retention_deleted_rows_total',
      help: 'Rows deleted by retention, by tenant, table and method (drop_partition or delete).',
      labelNames: ['tenant', 'table', 'method'],
      registers: [registry],
    });
    this.heldRows = new Gauge({ name: 'meshlog_retention_held_rows', help: 'Rows past their policy that legal holds kept, at the last run that looked.', labelNames: ['tenant'], registers: [registry] });
  }

  /**
   * Runs `enforce` and counts its outcome (a rejection is counted, then
   * rethrown). `tenant`: the run covered that tenant only; otherwise all.
   */
  async observe(trigger: EnforcementTrigger, enforce: () => Promise<EnforcementResult>, tenant?: string): Promise<EnforcementResult> {
    let result: EnforcementResult;
    try {
      result = await enforce();
    } catch (err) {
      this.runs.inc({ trigger, outcome: 'error' });
      throw err;
    }
    this.runs.inc({ trigger, outcome: result.errors.length > 0 ? 'error' : 'ok' });
    for (const r of result.records) this.deletedRows.inc({ tenant: r.tenant, table: r.table, method: r.method }, r.rows);
    const held = new Map<string, number>();
    for (const h of result.held) held.set(h.tenant, (held.get(h.tenant) ?? 0) + h.rows);
    // A run says what is held now for what it covered: zero where it found nothing.
    if (tenant === undefined) this.heldRows.reset();
    else held.set(tenant, held.get(tenant) ?? 0);
    for (const [t, rows] of held) this.heldRows.set({ tenant: t }, rows);
    return result;
  }
}
