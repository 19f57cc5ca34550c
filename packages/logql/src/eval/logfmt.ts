/**
 * The `| logfmt` parser: Loki's logfmt decoder (adapted from go-logfmt)
 * and its two stages, implicit extraction of every key
 * (`| logfmt`, `--strict`, `--keep-empty`) and explicit extraction
 * (`| logfmt host, fwd_ip="fwd"`).
 *
 * Invariants (Loki):
 * - Keys are sanitised to label names; a key a stream label or metadata
 *   already has is stored as `<key>_extracted`.
 * - Implicit extraction keeps the first occurrence of a key and skips
 *   empty values unless `--keep-empty`; explicit extraction always sets
 *   every requested label (to "" when absent) and the last occurrence wins.
 * - Without `--strict` malformed pairs are skipped silently; with it,
 *   scanning stops at the first one and `__error__=LogfmtParserErr` is set
 *   with `logfmt syntax error at pos N : ...` (N counts UTF-8 bytes).
 */
import type { LabelExtraction } from '../ast.js';
import { EvaluationError } from './errors.js';
import { utf8Offset } from './go/utf8.js';
import { EXTRACTED_SUFFIX } from './labels.js';
import { sanitizeLabelKey } from './sanitize.js';
import type { Stage } from './stage.js';

export const LOGFMT_ERR = 'LogfmtParserErr';

/** Loki's logfmt.Decoder over a JS string. */
export class LogfmtDecoder {
  private pos = 0;
  key = '';
  value = '';
  err: string | undefined;

  constructor(private readonly line: string) {}

  eol(): boolean {
    return this.pos >= this.line.length;
  }

  private error(msg: string): void {
    this.err = `logfmt syntax error at pos ${utf8Offset(this.line, this.pos) + 1} : ${msg}`;
  }

  private unexpected(c: string): void {
    this.error(`unexpected ${c === '"' ? "'\"'" : `'${c}'`}`);
  }

  private skipValue(): false {
    while (this.pos < this.line.length) {
      if ((this.line[this.pos] as string) <= ' ') return false;
      this.pos++;
    }
    return false;
  }

  /** Advances to the next key/value pair; false at the end or on a malformed pair. */
  scanKeyval(): boolean {
    const line = this.line;
    this.key = '';
    this.value = '';
    while (this.pos < line.length && (line[this.pos] as string) <= ' ') this.pos++;
    if (this.pos >= line.length) return false;
    const start = this.pos;
    for (;;) {
      if (this.pos >= line.length) {
        this.key = line.slice(start);
        if (this.key.includes('\ufffd')) {
          this.error('invalid key');
          return false;
        }
        return true;
      }
      const c = line[this.pos] as string;
      if (c === '=') {
        this.key = line.slice(start, this.pos);
        if (this.key === '') {
          this.unexpected(c);
          return this.skipValue();
        }
        if (this.key.includes('\ufffd')) {
          this.error('invalid key');
          return this.skipValue();
        }
        break;
      }
      if (c === '"') {
        this.unexpected(c);
        return this.skipValue();
      }
      if (c <= ' ') {
        this.key = line.slice(start, this.pos);
        if (this.key.includes('\ufffd')) {
          this.error('invalid key');
          return false;
        }
        return true;
      }
      this.pos++;
    }
    // At "=".
    this.pos++;
    if (this.pos >= line.length) return true;
    const first = line[this.pos] as string;
    if (first <= ' ') return true;
    if (first === '"') return this.quotedValue();
    const vstart = this.pos;
    while (this.pos < line.length) {
      const c = line[this.pos] as string;
      if (c === '=' || c === '"') {
        this.unexpected(c);
        return this.skipValue();
      }
      if (c <= ' ') break;
      this.pos++;
    }
    this.value = line.slice(vstart, this.pos);
    return true;
  }

  private quotedValue(): boolean {
    const line = this.line;
    const start = this.pos;
    let esc = false;
    let hasEsc = false;
    for (let i = start + 1; i < line.length; i++) {
      const c = line[i];
      if (esc) esc = false;
      else if (c === '\\') {
        hasEsc = true;
        esc = true;
      } else if (c === '"') {
        this.pos = i + 1;
        if (hasEsc) {
          const v = unquoteLogfmt(line.slice(start + 1, i));
          if (v === undefined) {
            this.error('invalid quoted value');
            return false;
          }
          this.value = v;
        } else this.value = line.slice(start + 1, i);
        return true;
      }
    }
    this.pos = line.length;
    this.error('unterminated quoted value');
    return false;
  }
}

/** Unescapes a logfmt quoted value (JSON escapes plus \'); invalid surrogates become U+FFFD. */
function unquoteLogfmt(s: string): string | undefined {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '"') return undefined;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = s[++i];
    switch (n) {
      case '"':
      case '\\':
      case '/':
      case "'":
        out += n;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        const hex = s.slice(i + 1, i + 5);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) return undefined;
        const r = parseInt(hex, 16);
        i += 4;
        if (r >= 0xd800 && r <= 0xdfff) {
          const lo = /^\\u([0-9a-fA-F]{4})/.exec(s.slice(i + 1));
          const l = lo ? parseInt(lo[1] as string, 16) : -1;
          if (r <= 0xdbff && l >= 0xdc00 && l <= 0xdfff) {
            out += String.fromCharCode(r, l);
            i += 6;
          } else out += '\ufffd';
        } else out += String.fromCharCode(r);
        break;
      }
      default:
        return undefined;
    }
  }
  return out;
}

/** `| logfmt [--strict] [--keep-empty]`: every key becomes a label. */
export function logfmtStage(strict: boolean, keepEmpty: boolean): Stage {
  return (s) => {
    const lb = s.lb;
    const dec = new LogfmtDecoder(s.line);
    while (!dec.eol()) {
      if (!dec.scanKeyval()) {
        if (strict) break;
        continue;
      }
      const sanitized = sanitizeLabelKey(dec.key, true);
      if (sanitized === '') continue;
      const key = lb.extractedName(sanitized);
      if (lb.wasExtracted(key)) continue;
      // The decoder replaced invalid UTF-8 with U+FFFD; Loki turns those into spaces.
      const val = dec.value.replaceAll('\ufffd', ' ');
      if (!keepEmpty && val === '') continue;
      lb.setParsed(key, val);
    }
    if (strict && dec.err !== undefined) lb.setError(LOGFMT_ERR, dec.err);
    return true;
  };
}

/** The key an explicit logfmt extraction reads: an identifier or a quoted string. */
function logfmtKey(e: LabelExtraction): string {
  const expr = e.expression.trim();
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(expr)) return expr;
  const quoted = /^"((?:[^"\\]|\\.)*)"$/.exec(expr);
  if (quoted) return quoted[1] as string;
  throw new EvaluationError('invalid-query', `cannot parse logfmt expression ${JSON.stringify(e.expression)} for label ${JSON.stringify(e.label)}: use a key name such as "fwd"`);
}

/** `| logfmt a, b="c"`: only the requested keys, renamed. */
export function logfmtExpressionStage(params: LabelExtraction[], strict: boolean): Stage {
  const byId = new Map<string, string>();
  for (const p of params) byId.set(p.label, logfmtKey(p));
  const entries = [...byId];
  return (s) => {
    const lb = s.lb;
    for (const [id] of entries) if (!lb.baseHas(id) && !lb.hasMeta(id)) lb.setParsed(id, '');
    const dec = new LogfmtDecoder(s.line);
    scan: while (!dec.eol()) {
      if (!dec.scanKeyval()) {
        if (strict) break;
        continue;
      }
      let key = sanitizeLabelKey(dec.key, true);
      if (key === '' || (!byId.has(key) && lb.wasExtracted(key))) continue;
      const val = dec.value.includes('\ufffd') ? '' : dec.value;
      for (const [id, orig] of entries) {
        if (key === orig) {
          key = id;
          break;
        }
      }
      if (!byId.has(key)) continue;
      if (lb.baseHas(key) || lb.hasMeta(key)) {
        // Loki keeps the first clashing occurrence and stops scanning at the second.
        if (lb.wasExtracted(key + EXTRACTED_SUFFIX)) break scan;
        lb.setParsed(key + EXTRACTED_SUFFIX, val);
      } else lb.setParsed(key, val);
    }
    if (strict && dec.err !== undefined) lb.setError(LOGFMT_ERR, dec.err);
    return true;
  };
}
