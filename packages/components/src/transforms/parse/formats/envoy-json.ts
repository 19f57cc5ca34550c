/**
 * Envoy JSON access logs: Istio's JSON encoding (`EnvoyJSONLogFormatIstio`:
 * the TEXT fields under snake_case keys, plus `istio_policy_status` before
 * 1.8 and `response_code_details`/`connection_termination_details` from
 * 1.9) and Consul's default access log (the same keys; consul
 * website/content/docs/connect/observability/access-logs.mdx, "Default log
 * format"). Keys Envoy does not define (custom labels) are kept as
 * application fields would be (fields.ts), so a custom dictionary loses
 * nothing.
 */
import type { LogRecord } from '@meshlog/core';
import { assignField, setFormat, type ParseEnv } from '../fields.js';
import { ENVOY_JSON_KEYS, applyEnvoyField, finishAccessLog, intOf } from './envoy-fields.js';

/** Whether a JSON object is an Envoy access log: its response code plus a second Envoy key. */
export function isEnvoyJson(obj: Record<string, unknown>): boolean {
  if (!('response_code' in obj)) return false;
  return 'upstream_cluster' in obj || 'bytes_sent' in obj || 'downstream_remote_address' in obj || 'upstream_host' in obj || 'start_time' in obj;
}

/** Returns false (nothing written) when the response code is not a number. */
export function parseEnvoyJson(obj: Record<string, unknown>, record: LogRecord, env: ParseEnv): boolean {
  const code = obj['response_code'];
  if (code !== null && typeof code !== 'number' && !(typeof code === 'string' && code.length <= 3 && intOf(code) >= 0)) return false;
  for (const key in obj) {
    const v = obj[key];
    const f = ENVOY_JSON_KEYS.get(key);
    if (f !== undefined) applyEnvoyField(record, env, f, v);
    else if (v !== null && v !== undefined) {
      if (typeof v === 'object') assignField(record, env, key, JSON.stringify(v));
      else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') assignField(record, env, key, v);
    }
  }
  const cluster = obj['upstream_cluster'];
  setFormat(record, env, typeof cluster === 'string' && cluster.endsWith('.consul') ? 'consul-json' : 'envoy-json');
  finishAccessLog(record, env);
  return true;
}
