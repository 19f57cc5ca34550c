/**
 * The retention API the server uses: policies, holds, deletion records and
 * enforcement runs behind one queue.
 *
 * Invariant: enforcement runs and policy/hold changes never interleave. A
 * change waits for a running enforcement to finish, and an enforcement waits
 * for a change in progress; so once a hold is acknowledged, no run that
 * started before it can still delete what it covers, and every run sees one
 * consistent set of policies and holds. (One server; a cluster will need the
 * same guarantee from a lock in the store.)
 */
import type { Logger } from '@meshlog/core';
import type { LogStore } from '../log-store.js';
import { RetentionCatalog, type HoldInput, type PolicyInput, type StoredHold } from './catalog.js';
import { RetentionEnforcer, type EnforcementResult } from './enforcer.js';
import { canonicalSelector, policyIdFor, type DeletionRecord, type RetentionChange, type RetentionPolicy } from './model.js';

export interface RetentionServiceOptions {
  defaultKeepDays: number;
  logger?: Logger;
  /** The clock, in ns (tests pin it). */
  now?: () => bigint;
}

/** A policy from the config file (`retention.policies`). */
export interface ConfiguredPolicy {
  tenant: string;
  selector?: string;
  keep_days: number;
}

/** The actor recorded for changes the config file makes at start. */
export const CONFIG_ACTOR = 'config';

export class RetentionService {
  readonly catalog: RetentionCatalog;
  private readonly enforcer: RetentionEnforcer;
  private queue: Promise<unknown> = Promise.resolve();
  private running = 0;

  constructor(store: Pick<LogStore, 'backend' | 'database' | 'visible'> & Partial<Pick<LogStore, 'ledger'>>, readonly opts: RetentionServiceOptions) {
    this.catalog = new RetentionCatalog(store.backend, store.database);
    this.catalog.ledger = store.ledger;
    this.enforcer = new RetentionEnforcer(store, this.catalog, {
      defaultKeepDays: opts.defaultKeepDays,
      ...(opts.logger ? { logger: opts.logger } : {}),
      ...(opts.now ? { now: opts.now } : {}),
    });
  }

  /** Whether an enforcement or change is running or queued. */
  get busy(): boolean {
    return this.running > 0;
  }

  /**
   * Applies the config file's policies: the file is authoritative for the
   * (tenant, selector) pairs it names, so a changed `keep_days` there wins
   * at the next start (recorded as a change by `config`). Policies it does
   * not name are left alone; it never deletes one.
   */
  async applyConfigured(policies: readonly ConfiguredPolicy[]): Promise<RetentionPolicy[]> {
    return this.serialize(async () => {
      const changed: RetentionPolicy[] = [];
      for (const p of policies) {
        const r = await this.catalog.putPolicy(p.tenant, { ...(p.selector !== undefined ? { selector: p.selector } : {}), keep_days: p.keep_days }, CONFIG_ACTOR);
        if (r.changed) changed.push(r.policy);
      }
      return changed;
    });
  }

  policies(tenant: string): Promise<RetentionPolicy[]> {
    return this.catalog.policies(tenant);
  }

  putPolicy(tenant: string, input: PolicyInput, actor: string): Promise<{ policy: RetentionPolicy; before: RetentionPolicy | undefined; created: boolean; changed: boolean }> {
    return this.serialize(() => this.catalog.putPolicy(tenant, input, actor));
  }

  deletePolicy(tenant: string, id: string, actor: string): Promise<RetentionPolicy | undefined> {
    return this.serialize(() => this.catalog.deletePolicy(tenant, id, actor));
  }

  holds(tenant: string): Promise<StoredHold[]> {
    return this.catalog.holds(tenant);
  }

  createHold(tenant: string, input: HoldInput, actor: string): Promise<StoredHold> {
    return this.serialize(() => this.catalog.createHold(tenant, input, actor));
  }

  releaseHold(tenant: string, id: string, actor: string): Promise<StoredHold | undefined> {
    return this.serialize(() => this.catalog.releaseHold(tenant, id, actor));
  }

  deletions(tenant: string, range: { fromMs?: number; toMs?: number } = {}): Promise<DeletionRecord[]> {
    return this.catalog.deletions(tenant, range);
  }

  changes(tenant: string): Promise<RetentionChange[]> {
    return this.catalog.changes(tenant);
  }

  /** One enforcement run (all tenants, or one), queued behind whatever is running. */
  enforce(scope: { tenant?: string } = {}): Promise<EnforcementResult> {
    return this.serialize(() => this.enforcer.enforce(scope));
  }

  /** An approved purge (see RetentionEnforcer.purge), queued like an enforcement run. */
  purge(q: { tenant: string; selector: string; fromNs: bigint; toNs: bigint; actor: string; approvedBy: string }): Promise<DeletionRecord> {
    return this.serialize(() => this.enforcer.purge(q));
  }

  /** Resolves once everything queued so far has finished (for shutdown). */
  async idle(): Promise<void> {
    for (;;) {
      const q = this.queue;
      await q.catch(() => undefined);
      if (q === this.queue) return;
    }
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    this.running++;
    const next = this.queue.catch(() => undefined).then(fn);
    this.queue = next;
    return next.finally(() => {
      this.running--;
    });
  }
}

/** The id a policy for this tenant and selector has (or would have). */
export function policyIdOf(tenant: string, selector?: string): string {
  return policyIdFor(tenant, selector === undefined || selector.trim() === '' ? '' : canonicalSelector(selector).text);
}
