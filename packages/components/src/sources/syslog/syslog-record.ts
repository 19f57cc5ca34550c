/**
 * Parsed syslog -> the internal model (docs/schema.md, "Syslog"). PRI
 * becomes the severity (the table below) and `syslog.facility`; HOSTNAME
 * and APP-NAME become the resource (`host.name`, `service.name`), so
 * records are found by `{service_name="<app>"}`; structured data becomes
 * `syslog.sd.<SD-ID>.<PARAM-NAME>` attributes.
 *
 * Invariants:
 * - records whose host and app agree share one frozen resource object (the
 *   store encodes stream labels once per resource object), held in a bounded
 *   cache;
 * - a line that is not syslog keeps its full text as the body with
 *   severity 0 and `syslog.parse_error` saying why, so nothing is lost.
 */
import { emptyLogRecord, type Attributes, type LogRecord } from '@meshlog/core';
import type { SyslogMessage } from './syslog-parse.js';

/** Syslog severity (0..7) -> OpenTelemetry severity number, and the keyword kept as severity text. */
export const SYSLOG_SEVERITIES: readonly { keyword: string; otel: number }[] = [
  { keyword: 'emerg', otel: 21 }, // FATAL: OpenTelemetry's log data model appendix, syslog row
  { keyword: 'alert', otel: 19 }, // ERROR3
  { keyword: 'crit', otel: 18 }, // ERROR2
  { keyword: 'err', otel: 17 }, // ERROR
  { keyword: 'warning', otel: 13 }, // WARN
  { keyword: 'notice', otel: 10 }, // INFO2
  { keyword: 'info', otel: 9 }, // INFO
  { keyword: 'debug', otel: 5 }, // DEBUG
];

/** Facility names as rsyslog and syslog-ng print them (RFC 5424 table 1). */
export const SYSLOG_FACILITIES: readonly string[] = [
  'kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp', 'ntp', 'security', 'console', 'solaris-cron',
  'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7',
];

/** Where and how a message arrived: the same for every message of a connection. */
export interface Arrival {
  /** Sender's address (`network.peer.address`). */
  peerAddress: string | undefined;
  transport: 'tcp' | 'udp' | 'tls';
  /** Negotiated TLS version (`tls.protocol.version`, e.g. `1.3`), for TLS connections. */
  tlsVersion?: string | undefined;
}

const EMPTY_RESOURCE: Attributes = Object.freeze({}) as Attributes;

/** Shared resource objects per (host, app); cleared when it grows past `max` distinct pairs. */
export class ResourceCache {
  private readonly map = new Map<string, Attributes>();
  constructor(private readonly max = 10_000) {}

  get(host: string | undefined, app: string | undefined): Attributes {
    if (host === undefined && app === undefined) return EMPTY_RESOURCE;
    const key = `${host ?? ''}\0${app ?? ''}`;
    let r = this.map.get(key);
    if (!r) {
      if (this.map.size >= this.max) this.map.clear();
      const a: Attributes = {};
      if (host !== undefined) a['host.name'] = host;
      // No app name: the host stands in, so `{service_name="<host>"}` finds the line.
      a['service.name'] = app ?? host!;
      r = Object.freeze(a) as Attributes;
      this.map.set(key, r);
    }
    return r;
  }
}

export function syslogRecord(m: SyslogMessage, observedTimeUnixNano: bigint, arrival: Arrival, resources: ResourceCache): LogRecord {
  const r = emptyLogRecord();
  r.observedTimeUnixNano = observedTimeUnixNano;
  r.timeUnixNano = m.timeUnixNano ?? observedTimeUnixNano;
  const sev = SYSLOG_SEVERITIES[m.severity]!;
  r.severityNumber = sev.otel;
  r.severityText = sev.keyword;
  r.body = m.message;
  r.resource = resources.get(m.hostname, m.appName);
  const a: Attributes = {
    'syslog.facility': SYSLOG_FACILITIES[m.facility] ?? String(m.facility),
    'syslog.facility.code': m.facility,
    'syslog.format': m.format,
  };
  if (m.procId !== undefined) {
    if (isPid(m.procId)) a['process.pid'] = Number(m.procId);
    else a['syslog.procid'] = m.procId;
  }
  if (m.msgId !== undefined) a['syslog.msgid'] = m.msgId;
  if (m.structuredData.length > 0) addStructuredData(a, m);
  addArrival(a, arrival);
  r.attributes = a;
  return r;
}

/** A line that is not syslog, kept whole (on_parse_error: keep). */
export function unparsedRecord(text: string, error: string, observedTimeUnixNano: bigint, arrival: Arrival): LogRecord {
  const r = emptyLogRecord();
  r.observedTimeUnixNano = observedTimeUnixNano;
  r.timeUnixNano = observedTimeUnixNano;
  r.body = text;
  r.resource = EMPTY_RESOURCE;
  const a: Attributes = { 'syslog.parse_error': error };
  addArrival(a, arrival);
  r.attributes = a;
  return r;
}

function addStructuredData(a: Attributes, m: SyslogMessage): void {
  // A PARAM-NAME may repeat within an element (and a sender may repeat an
  // element): such keys keep every value, as a JSON array.
  let repeated: Map<string, string[]> | undefined;
  for (const el of m.structuredData) {
    if (el.params.length === 0) {
      a[`syslog.sd.${el.id}`] = true;
      continue;
    }
    const prefix = `syslog.sd.${el.id}.`;
    for (const [name, value] of el.params) {
      const key = prefix + name;
      const prev = a[key];
      if (prev === undefined) {
        a[key] = value;
        continue;
      }
      repeated ??= new Map();
      let values = repeated.get(key);
      if (!values) repeated.set(key, (values = [String(prev)]));
      values.push(value);
    }
  }
  if (repeated) for (const [key, values] of repeated) a[key] = JSON.stringify(values);
}

function addArrival(a: Attributes, arrival: Arrival): void {
  if (arrival.peerAddress !== undefined) a['network.peer.address'] = arrival.peerAddress;
  // OpenTelemetry's network.transport is tcp or udp; TLS runs over tcp and says so in tls.protocol.version.
  a['network.transport'] = arrival.transport === 'udp' ? 'udp' : 'tcp';
  if (arrival.tlsVersion !== undefined) a['tls.protocol.version'] = arrival.tlsVersion;
}

function isPid(s: string): boolean {
  if (s.length === 0 || s.length > 10) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return Number(s) <= 0xffffffff;
}
