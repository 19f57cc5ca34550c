/**
 * The server's side of transport security, shared by every listener:
 *
 * - identities: a verified client certificate becomes a principal through
 *   `auth.certificate_rules` (auth/certificate-rules.ts); for listeners
 *   without requests of their own (syslog and Fluent forward over TLS,
 *   through TRANSPORT_SECURITY_SERVICE) the principal must also hold
 *   `logs:write`, since all such a connection can do is write; with no
 *   rules at all those listeners keep their source's tenant for any
 *   certificate their client CA verified;
 * - the audit trail of connections: every refused TLS handshake on any
 *   listener, and every accepted TLS connection on the listeners whose
 *   traffic is not otherwise audited per request (syslog, fluent), leaves
 *   one record, action `transport.tls`;
 * - certificate reload on request (SIGHUP): every listener's certificate
 *   watcher subscribes here and re-reads its files when asked.
 */
import { randomUUID } from 'node:crypto';
import type { Logger, PeerCertificateInfo, PeerVerdict, TlsConnectionEvent, TransportSecurity } from '@meshlog/core';
import type { AuditTrail } from '../audit/audit-trail.js';
import { can } from '../auth/principal.js';
import { rolesWith } from '../auth/roles.js';
import type { CertificateIdentities } from '../auth/certificate-rules.js';

/** The audit action of TLS connection records. */
export const TLS_AUDIT_ACTION = 'transport.tls';

export class ServerTransportSecurity implements TransportSecurity {
  private readonly reloadListeners = new Set<() => void>();

  constructor(
    readonly identities: CertificateIdentities,
    private readonly audit: AuditTrail,
    private readonly operatorTenant: string,
    private readonly logger: Logger,
  ) {}

  identifyPeer(certificate: PeerCertificateInfo): PeerVerdict | undefined {
    // No rules: syslog and Fluent keep their source's tenant, the client CA being the gate (as before rules existed).
    if (this.identities.size === 0) return undefined;
    const identity = this.identities.identify(certificate);
    if ('refuse' in identity) return identity;
    const p = identity.principal;
    if (!can(p, 'logs:write')) {
      return { refuse: `client certificate ${p.id} maps to the roles ${p.roles.join(', ')} in tenant ${p.tenant}, which lack "logs:write" (granted by ${rolesWith('logs:write').join(', ')}); this listener only takes logs` };
    }
    return { tenant: p.tenant, id: p.id };
  }

  async recordConnection(event: TlsConnectionEvent): Promise<void> {
    const identity = event.certificate && event.outcome === 'accepted' ? this.identities.identify(event.certificate) : undefined;
    const actor = identity && 'principal' in identity ? identity.principal : undefined;
    const cert = event.certificate;
    await this.audit.record({
      timeNs: BigInt(Date.now()) * 1_000_000n,
      requestId: randomUUID(),
      tenant: event.tenant ?? this.operatorTenant,
      action: TLS_AUDIT_ACTION,
      target: `${event.protocol} connection`,
      outcome: event.outcome === 'accepted' ? 'success' : 'unauthenticated',
      status: event.outcome,
      actor,
      client: { address: event.peerAddress },
      durationMs: 0,
      ...(event.reason !== undefined ? { reason: event.reason } : {}),
      detail: {
        listener: event.source,
        protocol: event.protocol,
        ...(event.tlsVersion ? { tls_version: event.tlsVersion } : {}),
        ...(cert ? { certificate: { spiffe_id: cert.spiffeIds[0] ?? null, subject: cert.subject, serial: cert.serial, fingerprint256: cert.fingerprint256 } } : {}),
      },
    });
  }

  onReloadRequest(listener: () => void): () => void {
    this.reloadListeners.add(listener);
    return () => this.reloadListeners.delete(listener);
  }

  /** Every certificate watcher re-reads its files now (SIGHUP). */
  requestReload(): void {
    this.logger.info('re-reading TLS certificate files', { listeners: this.reloadListeners.size });
    for (const l of this.reloadListeners) l();
  }
}
