/**
 * Policy precedence: which of a tenant's policies governs a stream. Pure.
 *
 * A stream is governed by exactly one policy, the first of this order whose
 * selector matches it:
 *
 *   1. Policies with a selector, most specific first:
 *      a. more matchers first (`{namespace="payments", app="ledger"}` before
 *         `{namespace="payments"}`);
 *      b. then more equality (`=`) matchers (`=` names streams exactly,
 *         `=~`, `!=` and `!~` describe sets);
 *      c. then the longer `keep_days` (keep forever counts as longest): when
 *         two equally specific policies both match, keeping longer is the
 *         error that can be undone;
 *      d. then the id, so the order never depends on storage order.
 *   2. The tenant's default policy (no selector) or, without one,
 *      `retention.default_keep_days`. It is always last and matches everything.
 *
 * So `{k8s_namespace_name="payments"}` 400 days with a 90-day default keeps
 * payments records 400 days even though the default would delete them at 90:
 * a more specific policy can lengthen or shorten retention for its streams.
 *
 * The SQL side (`retention-sql.ts`) evaluates the same order as one
 * `multiIf`, so the store applies exactly this; `ruleFor` evaluates it in
 * JavaScript for tests and explanations.
 */
import { compileRe2 } from '@meshlog/logql';
import type { Matcher } from '../query/log-select.js';
import { CONFIG_DEFAULT_POLICY_ID, DAY_NS, canonicalSelector, type RetentionPolicy } from './model.js';

export interface RetentionRule {
  policyId: string;
  /** Canonical selector; '' for the default rule. */
  selector: string;
  /** Empty for the default rule (matches every stream). */
  matchers: Matcher[];
  /** 0 = keep forever. */
  keepDays: number;
}

/** The tenant's rules in precedence order; the last one is always the default. */
export function rulesForTenant(policies: readonly RetentionPolicy[], defaultKeepDays: number): RetentionRule[] {
  const specific: RetentionRule[] = [];
  let fallback: RetentionRule | undefined;
  for (const p of policies) {
    if (p.selector === undefined || p.selector === '') {
      fallback = { policyId: p.id, selector: '', matchers: [], keepDays: p.keep_days };
    } else {
      specific.push({ policyId: p.id, selector: p.selector, matchers: canonicalSelector(p.selector).matchers, keepDays: p.keep_days });
    }
  }
  specific.sort(compareSpecificity);
  return [...specific, fallback ?? { policyId: CONFIG_DEFAULT_POLICY_ID, selector: '', matchers: [], keepDays: defaultKeepDays }];
}

/** Negative when `a` takes precedence over `b`. */
export function compareSpecificity(a: RetentionRule, b: RetentionRule): number {
  const eq = (r: RetentionRule): number => r.matchers.filter((m) => m.op === '=').length;
  const keep = (r: RetentionRule): number => (r.keepDays === 0 ? Number.POSITIVE_INFINITY : r.keepDays);
  return b.matchers.length - a.matchers.length || eq(b) - eq(a) || keep(b) - keep(a) || (a.policyId < b.policyId ? -1 : a.policyId > b.policyId ? 1 : 0);
}

/** Records older than this (ns) are past the rule; undefined = keep forever. */
export function cutoffNs(rule: Pick<RetentionRule, 'keepDays'>, nowNs: bigint): bigint | undefined {
  if (rule.keepDays === 0) return undefined;
  const c = nowNs - BigInt(rule.keepDays) * DAY_NS;
  return c > 0n ? c : 0n;
}

/**
 * Whether a stream's labels match a selector, with the store's semantics: a
 * missing label equals '', regexes are RE2 and fully anchored.
 */
export function selectorMatches(matchers: readonly Matcher[], labels: Readonly<Record<string, string>>): boolean {
  return matchers.every((m) => {
    const v = labels[m.name] ?? '';
    switch (m.op) {
      case '=':
        return v === m.value;
      case '!=':
        return v !== m.value;
      case '=~':
        return compileRe2(m.value, true).test(v);
      case '!~':
        return !compileRe2(m.value, true).test(v);
    }
  });
}

/** The rule that governs a stream: the first in precedence order whose selector matches. */
export function ruleFor(rules: readonly RetentionRule[], labels: Readonly<Record<string, string>>): RetentionRule {
  const found = rules.find((r) => selectorMatches(r.matchers, labels));
  // The last rule has no matchers, so something always matches.
  return found ?? rules[rules.length - 1]!;
}
