/**
 * Trace context found in log lines, to the model's `traceId` (32 lowercase
 * hex) and `spanId` (16 lowercase hex), so access logs, app logs and spans of
 * one request join on trace id (the store indexes `trace_id`).
 *
 * Formats:
 * - W3C `traceparent`: `version-traceid-spanid-flags`; version `ff` and
 *   all-zero ids are invalid; version 00 has exactly those four fields, later
 *   versions may append more (W3C Trace Context, "Versioning of traceparent").
 *   Lowercase hex only, as the specification requires.
 * - B3 multi-header: `x-b3-traceid` (16 or 32 hex), `x-b3-spanid` (16 hex),
 *   `x-b3-sampled` (`1`/`0`, `true`/`false`) or `x-b3-flags: 1` (debug).
 * - B3 single header: `b3: {traceid}-{spanid}[-{sampled}[-{parentspanid}]]`;
 *   a bare `0`/`1`/`d` carries no ids.
 * - Plain fields: hex ids (either case) of 16 or 32 digits; Datadog's
 *   decimal 64-bit ids (`dd.trace_id`).
 *
 * A 64-bit (16 hex) trace id is left-padded with zeros to 128 bits, as B3
 * and the Zipkin trace route do, so a B3 id and its padded form are one trace.
 * Invalid values are ignored (never an error): a log line's trace field is a
 * hint, and a bad one must not cost the line.
 */
import type { LogRecord } from '@meshlog/core';

const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[97 + i] = 10 + i;
  HEX[65 + i] = 10 + i;
}

/** Hex digits in s[from, to) that are not all zero (an all-zero id is invalid everywhere). */
function isHex(s: string, from: number, to: number, lowerOnly: boolean): boolean {
  return hexDigits(s, from, to, lowerOnly) && !allZero(s, from, to);
}

function hexDigits(s: string, from: number, to: number, lowerOnly: boolean): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || HEX[c]! < 0) return false;
    if (lowerOnly && c >= 65 && c <= 70) return false;
  }
  return true;
}

function allZero(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (s.charCodeAt(i) !== 48) return false;
  return true;
}

/** A hex trace id of 16 or 32 digits, lowercased and padded to 32; '' when invalid or all zero. */
export function normalizeTraceId(s: string): string {
  if (s.length === 32 && isHex(s, 0, 32, false)) return s.toLowerCase();
  if (s.length === 16 && isHex(s, 0, 16, false)) return '0000000000000000' + s.toLowerCase();
  return '';
}

/** A hex span id of 16 digits, lowercased; '' when invalid or all zero. */
export function normalizeSpanId(s: string): string {
  return s.length === 16 && isHex(s, 0, 16, false) ? s.toLowerCase() : '';
}

const U64_MAX = 18_446_744_073_709_551_615n;

/** A Datadog decimal 64-bit id (1..2^64-1) as 16 hex digits; '' when it is not one. */
export function datadogIdToHex(s: string): string {
  if (s.length === 0 || s.length > 20) return '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return '';
  }
  const v = BigInt(s);
  if (v === 0n || v > U64_MAX) return '';
  return v.toString(16).padStart(16, '0');
}

export interface TraceContext {
  traceId: string;
  spanId: string;
  /** W3C trace flags (bit 0: sampled); -1 when the source said nothing. */
  flags: number;
}

/** W3C traceparent; undefined when invalid. */
export function parseTraceparent(s: string): TraceContext | undefined {
  if (s.length < 55) return undefined;
  if (s.charCodeAt(2) !== 45 || s.charCodeAt(35) !== 45 || s.charCodeAt(52) !== 45) return undefined;
  if (!hexDigits(s, 0, 2, true) || (s.charCodeAt(0) === 102 && s.charCodeAt(1) === 102)) return undefined; // version ff is invalid
  const v00 = s.charCodeAt(0) === 48 && s.charCodeAt(1) === 48;
  // Version 00 is exactly 55 characters; a later version may append "-..." fields.
  if (v00 ? s.length !== 55 : s.length > 55 && s.charCodeAt(55) !== 45) return undefined;
  if (!isHex(s, 3, 35, true) || !isHex(s, 36, 52, true) || !hexDigits(s, 53, 55, true)) return undefined;
  return { traceId: s.slice(3, 35), spanId: s.slice(36, 52), flags: HEX[s.charCodeAt(53)]! * 16 + HEX[s.charCodeAt(54)]! };
}

/** B3 single header; undefined when it carries no valid ids. */
export function parseB3Single(s: string): TraceContext | undefined {
  const d1 = s.indexOf('-');
  if (d1 < 0) return undefined;
  const d2 = s.indexOf('-', d1 + 1);
  const traceId = normalizeTraceId(s.slice(0, d1));
  const spanId = normalizeSpanId(d2 < 0 ? s.slice(d1 + 1) : s.slice(d1 + 1, d2));
  if (!traceId || !spanId) return undefined;
  let flags = -1;
  if (d2 >= 0) {
    const d3 = s.indexOf('-', d2 + 1);
    const sampled = d3 < 0 ? s.slice(d2 + 1) : s.slice(d2 + 1, d3);
    flags = b3SampledFlags(sampled);
  }
  return { traceId, spanId, flags };
}

/** `x-b3-sampled` / the B3 single sampling field: 1 sampled, 0 not, -1 unknown. `d` (debug) implies sampled. */
export function b3SampledFlags(v: string): number {
  if (v === '1' || v === 'd' || v === 'true') return 1;
  if (v === '0' || v === 'false') return 0;
  return -1;
}

/**
 * Sets the record's trace context when it has none: a record that arrived
 * with a trace id (OTLP) keeps it. Returns whether it set anything.
 */
export function applyTraceContext(record: LogRecord, traceId: string, spanId: string, flags: number): boolean {
  if (record.traceId !== '' || traceId === '') return false;
  record.traceId = traceId;
  if (record.spanId === '' && spanId !== '') record.spanId = spanId;
  if (flags >= 0 && record.flags === 0) record.flags = flags & 0xff;
  return true;
}

/**
 * Collects trace fields seen while decoding one line, then applies the best
 * source once: traceparent, then B3 (single, then multi), then plain ids.
 * Reused across records (reset per line) so decoding allocates nothing.
 */
export class TraceFields {
  traceparent = '';
  b3 = '';
  b3TraceId = '';
  b3SpanId = '';
  b3Sampled = '';
  traceId = '';
  spanId = '';
  ddTraceId = '';
  ddSpanId = '';
  traceFlags = '';

  reset(): void {
    this.traceparent = this.b3 = this.b3TraceId = this.b3SpanId = this.b3Sampled = '';
    this.traceId = this.spanId = this.ddTraceId = this.ddSpanId = this.traceFlags = '';
  }

  /** Applies what was seen to the record (when it has no trace id yet). */
  applyTo(record: LogRecord): void {
    if (record.traceId !== '') return;
    if (this.traceparent) {
      const tc = parseTraceparent(this.traceparent);
      if (tc && applyTraceContext(record, tc.traceId, tc.spanId, tc.flags)) return;
    }
    if (this.b3) {
      const tc = parseB3Single(this.b3);
      if (tc && applyTraceContext(record, tc.traceId, tc.spanId, tc.flags)) return;
    }
    if (this.b3TraceId) {
      if (applyTraceContext(record, normalizeTraceId(this.b3TraceId), normalizeSpanId(this.b3SpanId), b3SampledFlags(this.b3Sampled))) return;
    }
    if (this.traceId) {
      let flags = -1;
      if (this.traceFlags) {
        const f = parseInt(this.traceFlags, 16);
        if (f >= 0 && f <= 255) flags = f;
      }
      if (applyTraceContext(record, normalizeTraceId(this.traceId), normalizeSpanId(this.spanId), flags)) return;
    }
    if (this.ddTraceId) {
      const t = datadogIdToHex(this.ddTraceId);
      applyTraceContext(record, t ? '0000000000000000' + t : '', datadogIdToHex(this.ddSpanId), -1);
    }
  }
}

/** A trace id field whose encoding is unknown (Kuma's `X-B3-TRACEID?X-DATADOG-TRACEID`): hex first, then Datadog decimal. */
export function traceIdHexOrDecimal(s: string): string {
  const hex = normalizeTraceId(s);
  if (hex) return hex;
  const dd = datadogIdToHex(s);
  return dd ? '0000000000000000' + dd : '';
}
