/**
 * Masks personal data in what a query returns, for principals without
 * `logs:read_personal` (viewers): personal fields that were not redacted at
 * the edge stay in the store, but such a reader sees `[masked:<name>]`
 * where they were. Two kinds of rules (`privacy` in the server config):
 *
 * - attributes: by name (`user.email`, `client.address`, …), in a row's
 *   structured metadata and resource, and in span attributes;
 * - patterns: regular expressions over log bodies and attribute values
 *   (an email address, an IPv4 address, …).
 *
 * The masker is applied by the store reader itself (every row a
 * TenantReader returns passes through it), so an endpoint cannot forget it.
 */
import type { LogRow, RowMasker, SpanRow } from '@meshlog/store';

export interface MaskRules {
  attributes: readonly string[];
  patterns: readonly { name: string; regex: string }[];
}

export const DEFAULT_MASK_RULES: MaskRules = {
  attributes: ['user.email', 'user.name', 'user.full_name', 'user.id', 'enduser.id', 'client.address', 'source.address', 'network.peer.address', 'http.request.header.authorization', 'http.request.header.cookie'],
  patterns: [
    { name: 'email', regex: '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}' },
    { name: 'ipv4', regex: '\\b(?:25[0-5]|2[0-4]\\d|1?\\d?\\d)(?:\\.(?:25[0-5]|2[0-4]\\d|1?\\d?\\d)){3}\\b' },
  ],
};

export class Masker implements RowMasker {
  private readonly attributes: ReadonlySet<string>;
  private readonly patterns: { name: string; re: RegExp }[];

  constructor(rules: MaskRules) {
    this.attributes = new Set(rules.attributes);
    this.patterns = rules.patterns.map((p) => ({ name: p.name, re: new RegExp(p.regex, 'g') }));
  }

  text(s: string): string {
    let out = s;
    for (const p of this.patterns) out = out.replace(p.re, `[masked:${p.name}]`);
    return out;
  }

  private values(keys: readonly string[], values: readonly string[]): string[] {
    return values.map((v, i) => (this.attributes.has(keys[i] ?? '') ? '[masked]' : this.text(v)));
  }

  logRow(row: LogRow): LogRow {
    return { ...row, body: this.text(row.body), attr_values: this.values(row.attr_keys, row.attr_values) };
  }

  spanRow(row: SpanRow): SpanRow {
    return { ...row, status_message: this.text(row.status_message), attr_values: this.values(row.attr_keys, row.attr_values), res_values: this.values(row.res_keys, row.res_values) };
  }
}
