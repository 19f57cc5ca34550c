/**
 * Mesh identity: who called whom, in which namespace, as which service
 * account, and whether the hop was mutual TLS, read from what meshes log.
 *
 * Inputs (attributes the parsers and sources write, docs/schema.md):
 * `envoy.upstream_cluster`, `tls.client.server_name` (the SNI Envoy saw,
 * `%REQUESTED_SERVER_NAME%`), `envoy.downstream_peer_uri_san` and
 * `envoy.upstream_peer_uri_san` (peer certificate URI SANs, where a custom
 * format or the Envoy gRPC access log service carries them).
 *
 * Names recognized:
 * - SPIFFE IDs: Istio `spiffe://<td>/ns/<ns>/sa/<sa>`, Consul
 *   `spiffe://<td>[/ap/<partition>]/ns/<ns>/dc/<dc>/svc/<svc>`, Kuma
 *   `spiffe://<mesh>/<service>`.
 * - Istio clusters: `outbound|<port>|<subset>|<host>`, `inbound|<port>||`
 *   (1.10+; before: `inbound|<port>|<port-name>|<host>`), and the pass-through
 *   clusters; Istio's mTLS SNI `outbound_.<port>_.<subset>_.<host>`.
 * - Consul clusters and SNI: `<svc>.<ns>[.<partition>].<dc>.internal.<td>.consul`
 *   (a subset prefixes one more label: the first label is then read as the
 *   service; documented limit), and `local_app` (inbound).
 * - Linkerd identities: `<sa>.<ns>.serviceaccount.identity.<control-ns>.<td>`.
 *
 * The mTLS rule (`mesh.mtls`, docs/schema.md explains its limits): true when
 * a peer SPIFFE ID is present, or on an inbound hop whose SNI is Istio's
 * (`outbound_.…`) or Consul's (`….internal.….consul`) mesh SNI, which those
 * meshes only send when originating mutual TLS; false on an inbound hop
 * without such an SNI; left unset on outbound hops, whose access log does
 * not show how the upstream connection was secured.
 *
 * Never overwrites an attribute that is already set; pure string work, no
 * regular expressions.
 */
import type { Attributes } from '@meshlog/core';

export interface SpiffeIdentity {
  trustDomain: string;
  /** Istio: Kubernetes namespace; Consul: Consul namespace. */
  namespace?: string;
  serviceAccount?: string;
  service?: string;
  datacenter?: string;
  partition?: string;
}

/** A SPIFFE ID (`spiffe://trust-domain/path`); undefined when it is not one. */
export function parseSpiffeId(uri: string): SpiffeIdentity | undefined {
  if (!uri.startsWith('spiffe://')) return undefined;
  const slash = uri.indexOf('/', 9);
  const trustDomain = slash < 0 ? uri.slice(9) : uri.slice(9, slash);
  if (trustDomain === '') return undefined;
  const id: SpiffeIdentity = { trustDomain };
  if (slash < 0) return id;
  const parts = uri.slice(slash + 1).split('/');
  if (parts.length === 1) {
    // Kuma: spiffe://<mesh>/<service>
    if (parts[0]) id.service = parts[0];
    return id;
  }
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const k = parts[i]!;
    const v = parts[i + 1]!;
    if (v === '') continue;
    if (k === 'ns') id.namespace = v;
    else if (k === 'sa') id.serviceAccount = v;
    else if (k === 'svc') id.service = v;
    else if (k === 'dc') id.datacenter = v;
    else if (k === 'ap') id.partition = v;
  }
  return id;
}

export interface IstioTarget {
  direction: 'inbound' | 'outbound';
  port?: number;
  subset?: string;
  /** The cluster's host (a Kubernetes service FQDN or a ServiceEntry host). */
  host?: string;
  /** Service and namespace, when the host is `<svc>.<ns>.svc.<domain>`. */
  service?: string;
  namespace?: string;
}

function portOf(s: string): number | undefined {
  if (s.length === 0 || s.length > 5) return undefined;
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    v = v * 10 + c;
  }
  return v > 0 && v < 65536 ? v : undefined;
}

function withHost(t: IstioTarget, host: string): IstioTarget {
  if (host === '') return t;
  t.host = host;
  const d1 = host.indexOf('.');
  const d2 = d1 < 0 ? -1 : host.indexOf('.', d1 + 1);
  if (d2 > 0 && host.startsWith('svc.', d2 + 1)) {
    t.service = host.slice(0, d1);
    t.namespace = host.slice(d1 + 1, d2);
  }
  return t;
}

/** An Istio cluster name; undefined when it is none of Istio's shapes. */
export function parseIstioCluster(name: string): IstioTarget | undefined {
  if (name === 'InboundPassthroughClusterIpv4' || name === 'InboundPassthroughClusterIpv6' || name === 'InboundPassthroughCluster') return { direction: 'inbound' };
  if (name === 'PassthroughCluster' || name === 'BlackHoleCluster') return { direction: 'outbound' };
  let direction: 'inbound' | 'outbound';
  if (name.startsWith('outbound|')) direction = 'outbound';
  else if (name.startsWith('inbound|')) direction = 'inbound';
  else return undefined;
  const p1 = name.indexOf('|');
  const p2 = name.indexOf('|', p1 + 1);
  const p3 = p2 < 0 ? -1 : name.indexOf('|', p2 + 1);
  if (p2 < 0 || p3 < 0) return undefined;
  const t: IstioTarget = { direction };
  const port = portOf(name.slice(p1 + 1, p2));
  if (port !== undefined) t.port = port;
  const subset = name.slice(p2 + 1, p3);
  // Before Istio 1.10 the inbound cluster's third field was the port name, not a subset.
  if (subset !== '' && direction === 'outbound') t.subset = subset;
  return withHost(t, name.slice(p3 + 1));
}

/** Istio's mTLS SNI `outbound_.<port>_.<subset>_.<host>`; undefined otherwise. */
export function parseIstioSni(sni: string): IstioTarget | undefined {
  if (!sni.startsWith('outbound_.')) return undefined;
  const a = sni.indexOf('_.', 10);
  const b = a < 0 ? -1 : sni.indexOf('_.', a + 2);
  if (a < 0 || b < 0) return undefined;
  const t: IstioTarget = { direction: 'outbound' };
  const port = portOf(sni.slice(10, a));
  if (port !== undefined) t.port = port;
  const subset = sni.slice(a + 2, b);
  if (subset !== '') t.subset = subset;
  return withHost(t, sni.slice(b + 2));
}

export interface ConsulTarget {
  service: string;
  namespace?: string;
  partition?: string;
  datacenter?: string;
}

/** A Consul upstream cluster or SNI `<svc>.<ns>[.<partition>].<dc>.internal[-v1].<td>.consul`. */
export function parseConsulName(name: string): ConsulTarget | undefined {
  if (!name.endsWith('.consul')) return undefined;
  let at = name.indexOf('.internal.');
  if (at < 0) at = name.indexOf('.internal-v1.');
  if (at <= 0) return undefined;
  const labels = name.slice(0, at).split('.');
  if (labels.length < 2 || labels.some((l) => l === '')) return undefined;
  const t: ConsulTarget = { service: labels[0]!, datacenter: labels[labels.length - 1]! };
  if (labels.length >= 3) t.namespace = labels[1]!;
  if (labels.length >= 4) t.partition = labels[2]!;
  return t;
}

/** Linkerd's identity `<sa>.<ns>.serviceaccount.identity.<control-ns>.<td>`. */
export function parseLinkerdIdentity(id: string): { serviceAccount: string; namespace: string } | undefined {
  const at = id.indexOf('.serviceaccount.identity.');
  if (at <= 0) return undefined;
  const dot = id.indexOf('.');
  if (dot <= 0 || dot >= at) return undefined;
  return { serviceAccount: id.slice(0, dot), namespace: id.slice(dot + 1, at) };
}

function set(attrs: Attributes, key: string, value: string | number | boolean | undefined): void {
  if (value === undefined || value === '' || attrs[key] !== undefined) return;
  attrs[key] = value;
}

function applySpiffe(attrs: Attributes, side: 'source' | 'destination', id: SpiffeIdentity): void {
  if (id.serviceAccount !== undefined) {
    set(attrs, `${side}.k8s.namespace.name`, id.namespace);
    set(attrs, `${side}.k8s.service_account.name`, id.serviceAccount);
  } else {
    set(attrs, `${side}.service.namespace`, id.namespace);
  }
  set(attrs, `${side}.service.name`, id.service);
}

function applyIstioTarget(attrs: Attributes, t: IstioTarget): void {
  if (t.service !== undefined) {
    set(attrs, 'destination.service.name', t.service);
    set(attrs, 'destination.k8s.namespace.name', t.namespace);
  } else if (t.host !== undefined) {
    set(attrs, 'destination.address', t.host);
  }
  set(attrs, 'destination.port', t.port);
  set(attrs, 'destination.service.subset', t.subset);
}

function str(v: unknown): string {
  return typeof v === 'string' && v !== '-' ? v : '';
}

/**
 * Derives the mesh identity attributes from the Envoy fields in `attrs`.
 * The record's resource names this workload, the side the access log was
 * written on: the destination of an inbound hop, the source of an outbound one.
 */
export function enrichMeshIdentity(attrs: Attributes): void {
  const cluster = str(attrs['envoy.upstream_cluster']);
  const sni = str(attrs['tls.client.server_name']);
  const downstreamSan = str(attrs['envoy.downstream_peer_uri_san']);
  const upstreamSan = str(attrs['envoy.upstream_peer_uri_san']);
  if (!cluster && !sni && !downstreamSan && !upstreamSan) return;

  let direction: 'inbound' | 'outbound' | undefined;
  let consulInbound = false;
  if (cluster) {
    const istio = parseIstioCluster(cluster);
    if (istio) {
      direction = istio.direction;
      if (direction === 'outbound') applyIstioTarget(attrs, istio);
      else if (istio.service !== undefined) {
        set(attrs, 'destination.service.name', istio.service);
        set(attrs, 'destination.k8s.namespace.name', istio.namespace);
      }
    } else if (cluster === 'local_app') {
      direction = 'inbound';
      consulInbound = true;
    } else {
      const consul = parseConsulName(cluster);
      if (consul) {
        direction = 'outbound';
        set(attrs, 'destination.service.name', consul.service);
        set(attrs, 'destination.service.namespace', consul.namespace);
      }
    }
  }
  if (direction !== undefined) set(attrs, 'mesh.direction', direction);

  // This workload (the resource, already in the stream labels) is the
  // destination of an inbound hop and the source of an outbound one;
  // `mesh.direction` says which, without copying the resource into attributes.

  let mtls: boolean | undefined;
  if (downstreamSan) {
    const id = parseSpiffeId(downstreamSan);
    if (id) {
      applySpiffe(attrs, 'source', id);
      mtls = true;
    }
  }
  if (upstreamSan) {
    const id = parseSpiffeId(upstreamSan);
    if (id) {
      applySpiffe(attrs, 'destination', id);
      mtls = true;
    }
  }
  if (sni) {
    const istioSni = parseIstioSni(sni);
    const consulSni = istioSni ? undefined : parseConsulName(sni);
    if (direction === 'inbound' && (istioSni || consulSni)) mtls = true;
    if (istioSni && direction === 'inbound') {
      set(attrs, 'destination.service.name', istioSni.service);
      set(attrs, 'destination.k8s.namespace.name', istioSni.namespace);
    }
  }
  // Consul's inbound listener (`local_app`) logs no SNI in its default format: leave it unknown there.
  if (direction === 'inbound' && mtls === undefined && !consulInbound) mtls = false;
  if (mtls !== undefined) set(attrs, 'mesh.mtls', mtls);
}
