/**
 * The `redact` transform: finds personal data and secrets in the body and
 * string attributes and replaces them before anything leaves the node (put
 * it between the sources and every sink). Detectors run in a fixed order,
 * each on the text the previous ones left, so a URL's password is not
 * also taken for an e-mail address. Every replacement is counted per
 * detector (`meshlog_redact_redactions_total{detector}`).
 *
 * `hash` mode writes a keyed HMAC-SHA256 of the value, so the same card or
 * address can be followed across lines without being readable; the key is
 * read from a file or the environment at build, never from the config.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Attributes, Batch, BuildContext, ComponentDefinition, Transform } from '@meshlog/core';
import { RedactConfigSchema, BUILTIN_DETECTORS, type RedactConfig } from './config.js';
import { DETECTORS, type Detector } from './detectors.js';

export class RedactTransform implements Transform {
  readonly kind = 'transform' as const;
  private readonly detectors: Detector[];
  private readonly key: Buffer | undefined;
  private readonly skip: Set<string>;
  private readonly counts = new Map<string, number>();
  private readonly count: (labels?: Record<string, string>, value?: number) => void;

  constructor(
    private readonly cfg: RedactConfig,
    ctx: Pick<BuildContext, 'metrics' | 'id'>,
  ) {
    // Built-ins in their fixed order, then custom patterns in config order.
    this.detectors = [
      ...BUILTIN_DETECTORS.filter((d) => cfg.detectors.includes(d)).map((d) => DETECTORS[d]),
      ...cfg.custom.map((c) => ({ name: c.name, regex: new RegExp(c.pattern, 'gu') })),
    ];
    this.skip = new Set(cfg.skip_attributes);
    this.count = ctx.metrics.counter?.('redact_redactions_total', 'Values replaced by the redact transform, per detector.', ['detector']) ?? (() => undefined);
    if (cfg.mode === 'hash') this.key = readKey(cfg, ctx.id);
  }

  /** Replacements per detector since start (for tests and logs). */
  get totals(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  process(batch: Batch): Batch {
    if (batch.kind !== 'logs') return batch;
    const found = new Map<string, number>();
    const resources = new Set<Attributes>();
    for (const r of batch.records) {
      if (this.cfg.body) r.body = this.redact(r.body, found);
      if (this.cfg.attributes) {
        this.redactAttributes(r.attributes, found);
        // Resources are often shared by the records of a batch: once each.
        if (!resources.has(r.resource)) {
          resources.add(r.resource);
          this.redactAttributes(r.resource, found);
        }
      }
    }
    for (const [detector, n] of found) {
      this.count({ detector }, n);
      this.counts.set(detector, (this.counts.get(detector) ?? 0) + n);
    }
    return batch;
  }

  private redactAttributes(attrs: Attributes, found: Map<string, number>): void {
    for (const k in attrs) {
      const v = attrs[k];
      if (typeof v === 'string' && !this.skip.has(k)) {
        const out = this.redact(v, found);
        if (out !== v) attrs[k] = out;
      }
    }
  }

  /** The text with every finding replaced; counts into `found`. */
  redact(text: string, found: Map<string, number> = new Map()): string {
    let out = text;
    for (const d of this.detectors) {
      if (d.mayMatch && !d.mayMatch(out)) continue;
      d.regex.lastIndex = 0;
      out = out.replace(d.regex, (match: string, ...rest: unknown[]) => {
        const groups = rest[rest.length - 1] as Record<string, string> | undefined;
        const secret = typeof groups === 'object' && groups?.['secret'] !== undefined ? groups['secret'] : match;
        if (d.accept && !d.accept(match)) return match;
        found.set(d.name, (found.get(d.name) ?? 0) + 1);
        const replacement = this.replacement(d.name, secret);
        if (secret === match) return replacement;
        const at = match.lastIndexOf(secret);
        return match.slice(0, at) + replacement + match.slice(at + secret.length);
      });
    }
    return out;
  }

  private replacement(detector: string, value: string): string {
    if (!this.key) return `[REDACTED:${detector}]`;
    return `[REDACTED:${detector}:${createHmac('sha256', this.key).update(value).digest('hex').slice(0, 16)}]`;
  }
}

function readKey(cfg: RedactConfig, id: string): Buffer {
  let key: Buffer;
  if (cfg.hash_key_env !== undefined) {
    const v = process.env[cfg.hash_key_env];
    if (!v) throw new Error(`transform ${id}: hash_key_env ${cfg.hash_key_env} is not set or empty`);
    key = Buffer.from(v, 'utf8');
  } else {
    try {
      key = readFileSync(cfg.hash_key_file!);
    } catch (err) {
      throw new Error(`transform ${id}: hash_key_file ${cfg.hash_key_file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
    }
  }
  const trimmed = Buffer.from(key.toString('utf8').trim(), 'utf8');
  if (trimmed.length < 16) throw new Error(`transform ${id}: the hash key must be at least 16 bytes (got ${trimmed.length}); generate one with: head -c 32 /dev/urandom | base64`);
  return trimmed;
}

export const redactTransform: ComponentDefinition<RedactConfig> = {
  kind: 'transform',
  type: 'redact',
  description: 'replaces e-mail addresses, payment card numbers (Luhn-checked), US SSNs, JWTs, AWS access keys, bearer tokens, URL passwords, optional IPs and custom patterns with a mask or a keyed hash',
  schema: RedactConfigSchema,
  build: (config, ctx) => new RedactTransform(config, ctx),
};
