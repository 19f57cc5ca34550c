/**
 * Envoy's ALS messages (envoy.service.accesslog.v3 and the access log entry
 * types it carries), loaded once from the .proto files under `proto/envoy`,
 * and decoded into plain objects: enums as their names (`GET`, `HTTP11`,
 * `TLSv1_3`), 64-bit integers as decimal strings (converted where used),
 * absent fields absent. The shapes below are the subset of those objects the
 * mapping reads; protobufjs names fields in camelCase.
 */
import type protobuf from 'protobufjs';
import { protoRoot } from '../../proto/proto-root.js';

const ALS_FILES = ['envoy/service/accesslog/v3/als.proto'] as const;

export const ALS_SERVICE = 'envoy.service.accesslog.v3.AccessLogService';
export const ALS_METHOD = 'StreamAccessLogs';

export function alsType(name: 'StreamAccessLogsMessage' | 'StreamAccessLogsResponse'): protobuf.Type {
  return protoRoot(ALS_FILES).lookupType(`envoy.service.accesslog.v3.${name}`);
}

/** Decodes one StreamAccessLogsMessage; throws (protobufjs) on malformed bytes. */
export function decodeAlsMessage(bytes: Buffer): AlsMessage {
  const type = alsType('StreamAccessLogsMessage');
  return type.toObject(type.decode(bytes), { enums: String, longs: String, bytes: String, defaults: false, arrays: true, objects: true, oneofs: false }) as AlsMessage;
}

/** The (empty) response that ends a stream. */
export function encodeAlsResponse(): Buffer {
  const type = alsType('StreamAccessLogsResponse');
  return Buffer.from(type.encode(type.create({})).finish());
}

export interface AlsMessage {
  identifier?: { node?: EnvoyNode; logName?: string };
  httpLogs?: { logEntry?: HttpAccessLogEntry[] };
  tcpLogs?: { logEntry?: TcpAccessLogEntry[] };
}

export interface ProtoStruct {
  fields?: Record<string, ProtoValue>;
}
export interface ProtoValue {
  nullValue?: string;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: ProtoStruct;
  listValue?: { values?: ProtoValue[] };
}

export interface EnvoyNode {
  id?: string;
  cluster?: string;
  metadata?: ProtoStruct;
  locality?: { region?: string; zone?: string; subZone?: string };
  userAgentName?: string;
  userAgentVersion?: string;
}

export interface EnvoyAddress {
  socketAddress?: { address?: string; portValue?: number; namedPort?: string; protocol?: string };
  pipe?: { path?: string };
  envoyInternalAddress?: { serverListenerName?: string; endpointId?: string };
}

export interface ProtoTimestamp {
  seconds?: string;
  nanos?: number;
}
export type ProtoDuration = ProtoTimestamp;

export interface CertificateProperties {
  subjectAltName?: { uri?: string; dns?: string }[];
  subject?: string;
  issuer?: string;
}

export interface TlsProperties {
  tlsVersion?: string;
  tlsCipherSuite?: { value?: number };
  tlsSniHostname?: string;
  localCertificateProperties?: CertificateProperties;
  peerCertificateProperties?: CertificateProperties;
  tlsSessionId?: string;
  ja3Fingerprint?: string;
}

export type ResponseFlags = Partial<Record<string, boolean | { reason?: string }>>;

export interface AccessLogCommon {
  sampleRate?: number;
  downstreamRemoteAddress?: EnvoyAddress;
  downstreamLocalAddress?: EnvoyAddress;
  tlsProperties?: TlsProperties;
  startTime?: ProtoTimestamp;
  timeToLastRxByte?: ProtoDuration;
  timeToFirstUpstreamTxByte?: ProtoDuration;
  timeToLastUpstreamTxByte?: ProtoDuration;
  timeToFirstUpstreamRxByte?: ProtoDuration;
  timeToLastUpstreamRxByte?: ProtoDuration;
  timeToFirstDownstreamTxByte?: ProtoDuration;
  timeToLastDownstreamTxByte?: ProtoDuration;
  upstreamRemoteAddress?: EnvoyAddress;
  upstreamLocalAddress?: EnvoyAddress;
  upstreamCluster?: string;
  responseFlags?: ResponseFlags;
  upstreamTransportFailureReason?: string;
  routeName?: string;
  downstreamDirectRemoteAddress?: EnvoyAddress;
  customTags?: Record<string, string>;
  duration?: ProtoDuration;
  upstreamRequestAttemptCount?: number;
  connectionTerminationDetails?: string;
  streamId?: string;
  downstreamTransportFailureReason?: string;
  accessLogType?: string;
}

export interface HttpAccessLogEntry {
  commonProperties?: AccessLogCommon;
  protocolVersion?: string;
  request?: {
    requestMethod?: string;
    scheme?: string;
    authority?: string;
    path?: string;
    userAgent?: string;
    referer?: string;
    forwardedFor?: string;
    requestId?: string;
    originalPath?: string;
    requestHeadersBytes?: string;
    requestBodyBytes?: string;
    requestHeaders?: Record<string, string>;
  };
  response?: {
    responseCode?: { value?: number };
    responseHeadersBytes?: string;
    responseBodyBytes?: string;
    responseHeaders?: Record<string, string>;
    responseTrailers?: Record<string, string>;
    responseCodeDetails?: string;
  };
}

export interface TcpAccessLogEntry {
  commonProperties?: AccessLogCommon;
  connectionProperties?: { receivedBytes?: string; sentBytes?: string };
}
