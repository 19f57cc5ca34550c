/**
 * Linkerd's proxy HTTP access log (`config.linkerd.io/access-log`), written
 * on the inbound side of the destination pod's proxy (linkerd2-proxy
 * `linkerd/app/inbound`, `NewAccessLog`), in its two encodings (linkerd
 * website, features/access-logging.md):
 *
 * - `apache`, a Common Log Format variant:
 *   `<client.addr> <client.id|-> - [<rfc3339 ns>] "<METHOD> <uri> <version>" <status>`
 *   (a trailing response size, as CLF has, is accepted too);
 * - `json`: `client.addr`, `client.id`, `host`, `method`, `processing_ns`,
 *   `request_bytes`, `response_bytes`, `status`, `timestamp`, `total_ns`,
 *   `trace_id`, `uri`, `user_agent`, `version` (numbers other than `status`
 *   arrive as strings, possibly empty).
 *
 * `client.id` is the peer's mTLS identity
 * (`<sa>.<ns>.serviceaccount.identity.<control-plane-ns>.<trust-domain>`),
 * present only when the connection was meshed mTLS: it gives the source
 * service account and namespace, and `mesh.mtls`. `trace_id` is whatever the
 * proxy found first of `x-b3-traceid`, `x-request-id` and `x-amzn-trace-id`:
 * it becomes the record's trace id only when it is a valid hex trace id.
 */
import type { LogRecord } from '@meshlog/core';
import { putAttribute, applyTime, setFormat, type ParseEnv } from '../fields.js';
import { applyTraceContext, normalizeTraceId } from '../../../normalize/trace-context.js';
import { parseLinkerdIdentity } from '../../../normalize/mesh-identity.js';
import { finishAccessLog, intOf, putHostPort, putProtocol, putTarget } from './envoy-fields.js';

function applyClientId(record: LogRecord, env: ParseEnv, id: string): void {
  if (id === '' || id === '-') {
    putAttribute(record, env, 'mesh.mtls', false);
    return;
  }
  putAttribute(record, env, 'linkerd.client.id', id);
  putAttribute(record, env, 'mesh.mtls', true);
  const who = parseLinkerdIdentity(id);
  if (who) {
    putAttribute(record, env, 'source.k8s.service_account.name', who.serviceAccount);
    putAttribute(record, env, 'source.k8s.namespace.name', who.namespace);
  }
}

/** Linkerd logs on the destination's proxy: this workload (the resource) is the destination. */
function applyInbound(record: LogRecord, env: ParseEnv): void {
  putAttribute(record, env, 'mesh.direction', 'inbound');
}

function severityFrom(record: LogRecord, env: ParseEnv): void {
  // Linkerd lines carry no Envoy fields: finishAccessLog gives trace context and the status-class severity.
  finishAccessLog(record, env);
}

/** The apache encoding; false (nothing written) when the line is not one. */
export function parseLinkerdApache(line: string, record: LogRecord, env: ParseEnv): boolean {
  const s1 = line.indexOf(' ');
  const s2 = s1 < 0 ? -1 : line.indexOf(' ', s1 + 1);
  if (s2 < 0 || !line.startsWith(' - [', s2)) return false;
  const close = line.indexOf('] "', s2 + 4);
  if (close < 0) return false;
  const reqEnd = line.indexOf('" ', close + 3);
  if (reqEnd < 0) return false;
  const request = line.slice(close + 3, reqEnd);
  const rest = line.slice(reqEnd + 2);
  const sp = rest.indexOf(' ');
  const status = intOf(sp < 0 ? rest : rest.slice(0, sp));
  const r1 = request.indexOf(' ');
  const r2 = request.lastIndexOf(' ');
  if (status < 0 || status > 999 || r1 <= 0 || r2 <= r1) return false;
  putHostPort(record, env, 'client', line.slice(0, s1));
  applyClientId(record, env, line.slice(s1 + 1, s2));
  applyTime(record, line.slice(s2 + 4, close));
  putAttribute(record, env, 'http.request.method', request.slice(0, r1));
  putTarget(record, env, request.slice(r1 + 1, r2));
  putProtocol(record, env, request.slice(r2 + 1));
  putAttribute(record, env, 'http.response.status_code', status);
  if (sp > 0) {
    const size = intOf(rest.slice(sp + 1));
    if (size >= 0) putAttribute(record, env, 'http.response.body.size', size);
  }
  applyInbound(record, env);
  setFormat(record, env, 'linkerd-apache');
  severityFrom(record, env);
  return true;
}

/** Whether a JSON object is a Linkerd access log. */
export function isLinkerdJson(obj: Record<string, unknown>): boolean {
  return 'client.addr' in obj && ('uri' in obj || 'status' in obj);
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

function num(record: LogRecord, env: ParseEnv, key: string, v: unknown): void {
  const n = typeof v === 'number' ? v : intOf(str(v));
  if (n >= 0) putAttribute(record, env, key, n);
}

export function parseLinkerdJson(obj: Record<string, unknown>, record: LogRecord, env: ParseEnv): boolean {
  const status = typeof obj['status'] === 'number' ? obj['status'] : intOf(str(obj['status']));
  if (status < 0 || status > 999) return false;
  const addr = str(obj['client.addr']);
  if (addr) putHostPort(record, env, 'client', addr);
  applyClientId(record, env, str(obj['client.id']));
  const host = str(obj['host']);
  if (host) putHostPort(record, env, 'server', host);
  const method = str(obj['method']);
  if (method) putAttribute(record, env, 'http.request.method', method);
  const uri = str(obj['uri']);
  if (uri) putTarget(record, env, uri);
  const version = str(obj['version']);
  if (version) putProtocol(record, env, version);
  putAttribute(record, env, 'http.response.status_code', status);
  num(record, env, 'http.request.body.size', obj['request_bytes']);
  num(record, env, 'http.response.body.size', obj['response_bytes']);
  num(record, env, 'linkerd.total_ns', obj['total_ns']);
  num(record, env, 'linkerd.processing_ns', obj['processing_ns']);
  const ua = str(obj['user_agent']);
  if (ua) putAttribute(record, env, 'user_agent.original', ua);
  applyTime(record, obj['timestamp']);
  const traceId = str(obj['trace_id']);
  if (traceId) {
    const hex = normalizeTraceId(traceId);
    if (hex) applyTraceContext(record, hex, '', -1);
    else putAttribute(record, env, 'linkerd.trace_id', traceId);
  }
  applyInbound(record, env);
  setFormat(record, env, 'linkerd-json');
  severityFrom(record, env);
  return true;
}
