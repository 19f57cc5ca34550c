/**
 * Cilium Hubble flows as `hubble observe -o json` prints them: one
 * `observer.GetFlowsResponse` per line (`{"flow": {...}, "node_name", "time"}`)
 * or, from older CLIs and exporters, the bare `flow.Flow`. Field names are
 * the proto names of cilium api/v1/flow/flow.proto (`pod_name`,
 * `traffic_direction`, `IP`, `l4.TCP.source_port`, `Type`, ...); the
 * lowerCamel JSON names (`podName`, `trafficDirection`) are accepted too.
 *
 * Source and destination endpoints give `source.*`/`destination.*`
 * (namespace, pod, workload, service account from the
 * `io.cilium.k8s.policy.serviceaccount` label, Cilium identity); L3/L4 gives
 * addresses, ports and transport; an L7 HTTP record gives the HTTP
 * attributes and its trace context. The flow's own time is the record time.
 */
import type { LogRecord } from '@meshlog/core';
import { severityName } from '@meshlog/core';
import { putAttribute, applyTime, setFormat, type ParseEnv } from '../fields.js';
import { putProtocol, putTarget } from './envoy-fields.js';

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
}

function pick(o: Obj, snake: string, camel: string): unknown {
  const v = o[snake];
  return v !== undefined ? v : o[camel];
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** The flow inside a line's object; undefined when the object is no Hubble flow. */
export function hubbleFlowOf(o: Obj): Obj | undefined {
  const inner = obj(o['flow']);
  const flow = inner ?? o;
  if (typeof flow['verdict'] !== 'string') return undefined;
  if (!('source' in flow) && !('IP' in flow) && !('l4' in flow) && !('Type' in flow)) return undefined;
  return flow;
}

const SA_LABEL = 'k8s:io.cilium.k8s.policy.serviceaccount=';

function endpoint(record: LogRecord, env: ParseEnv, side: 'source' | 'destination', e: Obj | undefined): void {
  if (!e) return;
  const ns = str(e['namespace']);
  if (ns) putAttribute(record, env, `${side}.k8s.namespace.name`, ns);
  const pod = str(pick(e, 'pod_name', 'podName'));
  if (pod) putAttribute(record, env, `${side}.k8s.pod.name`, pod);
  const identity = e['identity'];
  if (typeof identity === 'number') putAttribute(record, env, `${side}.cilium.identity`, identity);
  const labels = e['labels'];
  if (Array.isArray(labels)) {
    for (const l of labels) {
      if (typeof l === 'string' && l.startsWith(SA_LABEL)) {
        putAttribute(record, env, `${side}.k8s.service_account.name`, l.slice(SA_LABEL.length));
        break;
      }
    }
  }
  const workloads = e['workloads'];
  if (Array.isArray(workloads) && workloads.length > 0) {
    const w = obj(workloads[0]);
    if (w) {
      const name = str(w['name']);
      const kind = str(w['kind']);
      if (name) putAttribute(record, env, `${side}.k8s.workload.name`, name);
      if (kind) putAttribute(record, env, `${side}.k8s.workload.kind`, kind);
    }
  }
}

const SERVICES = [
  ['source_service', 'sourceService', 'source'],
  ['destination_service', 'destinationService', 'destination'],
] as const;

const TRANSPORTS: [string, string][] = [
  ['TCP', 'tcp'],
  ['UDP', 'udp'],
  ['SCTP', 'sctp'],
  ['ICMPv4', 'icmp'],
  ['ICMPv6', 'icmp'],
];

export function parseHubbleFlow(flow: Obj, record: LogRecord, env: ParseEnv, outer: Obj): void {
  applyTime(record, flow['time'] ?? outer['time']);
  const verdict = str(flow['verdict']);
  putAttribute(record, env, 'hubble.verdict', verdict);
  const drop = str(pick(flow, 'drop_reason_desc', 'dropReasonDesc'));
  if (drop) putAttribute(record, env, 'hubble.drop_reason', drop);
  const type = str(flow['Type']);
  if (type) putAttribute(record, env, 'hubble.flow_type', type);
  const direction = str(pick(flow, 'traffic_direction', 'trafficDirection'));
  if (direction) putAttribute(record, env, 'hubble.traffic_direction', direction);
  const isReply = pick(flow, 'is_reply', 'isReply');
  if (typeof isReply === 'boolean') putAttribute(record, env, 'hubble.is_reply', isReply);
  const node = str(pick(flow, 'node_name', 'nodeName')) || str(pick(outer, 'node_name', 'nodeName'));
  if (node) putAttribute(record, env, 'k8s.node.name', node);

  const ip = obj(flow['IP']);
  if (ip) {
    const src = str(ip['source']);
    const dst = str(ip['destination']);
    if (src) putAttribute(record, env, 'source.address', src);
    if (dst) putAttribute(record, env, 'destination.address', dst);
    const v = str(ip['ipVersion']);
    if (v === 'IPv4' || v === 'IPv6') putAttribute(record, env, 'network.type', v === 'IPv4' ? 'ipv4' : 'ipv6');
  }
  const l4 = obj(flow['l4']);
  if (l4) {
    for (const [key, transport] of TRANSPORTS) {
      const t = obj(l4[key]);
      if (!t) continue;
      putAttribute(record, env, 'network.transport', transport);
      const sp = pick(t, 'source_port', 'sourcePort');
      const dp = pick(t, 'destination_port', 'destinationPort');
      if (typeof sp === 'number') putAttribute(record, env, 'source.port', sp);
      if (typeof dp === 'number') putAttribute(record, env, 'destination.port', dp);
      break;
    }
  }
  endpoint(record, env, 'source', obj(flow['source']));
  endpoint(record, env, 'destination', obj(flow['destination']));
  for (const [key, camel, side] of SERVICES) {
    const svc = obj(pick(flow, key, camel));
    if (svc) {
      const name = str(svc['name']);
      if (name) putAttribute(record, env, `${side}.service.name`, name);
    }
  }

  let status = 0;
  const l7 = obj(flow['l7']);
  if (l7) {
    const l7type = str(l7['type']);
    if (l7type) putAttribute(record, env, 'hubble.l7.type', l7type);
    const latency = pick(l7, 'latency_ns', 'latencyNs');
    const ns = typeof latency === 'number' ? latency : typeof latency === 'string' ? Number(latency) : NaN;
    if (Number.isFinite(ns) && ns > 0) putAttribute(record, env, 'hubble.l7.latency_ns', ns);
    const http = obj(l7['http']);
    if (http) {
      const code = http['code'];
      if (typeof code === 'number' && code > 0) {
        status = code;
        putAttribute(record, env, 'http.response.status_code', code);
      }
      const method = str(http['method']);
      if (method) putAttribute(record, env, 'http.request.method', method);
      const url = str(http['url']);
      if (url) putTarget(record, env, url);
      const protocol = str(http['protocol']);
      if (protocol) putProtocol(record, env, protocol);
      const headers = http['headers'];
      if (Array.isArray(headers)) {
        for (const h of headers) {
          const ho = obj(h);
          if (!ho) continue;
          const k = str(ho['key']).toLowerCase();
          const v = str(ho['value']);
          if (k === 'traceparent') env.trace.traceparent = v;
          else if (k === 'x-request-id') putAttribute(record, env, 'http.request.header.x-request-id', v);
          else if (k === 'x-b3-traceid') env.trace.b3TraceId = v;
          else if (k === 'x-b3-spanid') env.trace.b3SpanId = v;
          else if (k === 'b3') env.trace.b3 = v;
        }
      }
    }
  }
  const tc = obj(pick(flow, 'trace_context', 'traceContext'));
  const parent = tc ? obj(tc['parent']) : undefined;
  const traceId = parent ? str(pick(parent, 'trace_id', 'traceId')) : '';
  if (traceId && !env.trace.traceId) env.trace.traceId = traceId;
  env.trace.applyTo(record);

  if (record.severityNumber === 0) {
    const n = verdict === 'DROPPED' || verdict === 'ERROR' ? 13 : status >= 500 ? 17 : status >= 400 ? 13 : 9;
    record.severityNumber = n;
    record.severityText = severityName(n);
  }
  setFormat(record, env, 'hubble');
}
