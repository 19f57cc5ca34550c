/**
 * Who a TLS connection to a source's own listener (syslog over TLS, Fluent
 * forward over TLS) writes as, decided once per connection after the
 * handshake, and the audit record of that decision.
 *
 * - a client certificate the listener verified: the host maps its SPIFFE
 *   ID to a tenant (`TransportSecurity.identifyPeer`); a certificate no
 *   rule matches refuses the connection;
 * - a certificate presented but not verified (client_auth: optional):
 *   refused, naming why;
 * - no certificate, or a verified one while the host maps none (no
 *   rules configured): the source's configured tenant.
 *
 * With the host's `TransportSecurity` (the server), every decision is
 * recorded, and an accepted connection is handed back only once its record
 * is durable (fail closed: no record, no connection). Without it (the
 * agent), a verified certificate keeps the source's tenant and nothing is
 * recorded.
 */
import type { TLSSocket } from 'node:tls';
import type { Logger, TransportSecurity, TlsConnectionEvent } from '@meshlog/core';
import { handshakeFailure, presentedCertificate } from './peer-certificate.js';

export interface AdmissionOptions {
  security: TransportSecurity | undefined;
  /** Component id of the source. */
  source: string;
  protocol: string;
  defaultTenant: string;
  logger: Logger;
}

export interface AdmittedConnection {
  tenant: string;
  /** The SPIFFE ID the tenant came from, when a certificate decided it. */
  identity?: string;
}

/**
 * Decides a connection whose handshake completed. Resolves with its tenant,
 * or undefined when it was refused (the socket is then destroyed).
 */
export async function admitTlsConnection(socket: TLSSocket, opts: AdmissionOptions): Promise<AdmittedConnection | undefined> {
  const presented = presentedCertificate(socket);
  const peerAddress = socket.remoteAddress ?? 'unknown';
  const tlsVersion = socket.getProtocol() ?? undefined;
  const base: Pick<TlsConnectionEvent, 'source' | 'protocol' | 'peerAddress'> & { tlsVersion?: string } = {
    source: opts.source,
    protocol: opts.protocol,
    peerAddress,
    ...(tlsVersion ? { tlsVersion } : {}),
  };
  let admitted: AdmittedConnection = { tenant: opts.defaultTenant };
  if (presented && !presented.verified) {
    await refuse(socket, opts, { ...base, outcome: 'refused', reason: presented.reason });
    return undefined;
  }
  if (presented && opts.security) {
    const verdict = opts.security.identifyPeer(presented.info);
    if (verdict && 'refuse' in verdict) {
      await refuse(socket, opts, { ...base, outcome: 'refused', reason: verdict.refuse, certificate: presented.info });
      return undefined;
    }
    if (verdict) admitted = { tenant: verdict.tenant, identity: verdict.id };
  }
  if (opts.security) {
    try {
      await opts.security.recordConnection({
        ...base,
        outcome: 'accepted',
        tenant: admitted.tenant,
        ...(presented ? { certificate: presented.info } : {}),
        ...(admitted.identity !== undefined ? { identity: admitted.identity } : {}),
      });
    } catch (err) {
      opts.logger.error('TLS connection closed: its audit record cannot be written', { peer: peerAddress, error: (err as Error).message });
      socket.destroy();
      return undefined;
    }
  }
  if (socket.destroyed) return undefined;
  return admitted;
}

async function refuse(socket: TLSSocket, opts: AdmissionOptions, event: TlsConnectionEvent): Promise<void> {
  opts.logger.warn('TLS connection refused', { peer: event.peerAddress, reason: event.reason });
  socket.destroy();
  await recordQuietly(opts, event);
}

/**
 * A handshake that failed (an unknown CA or no certificate with
 * client_auth: required, no common protocol version, not TLS at all, a
 * timeout) leaves one record. A peer that closed the connection itself
 * before any verdict (a TCP health check, a port scan) is not recorded.
 */
export async function recordFailedHandshake(err: Error, socket: TLSSocket, opts: Omit<AdmissionOptions, 'defaultTenant'>): Promise<void> {
  const failure = handshakeFailure(err, socket);
  if (!opts.security || failure.peerClosed) return;
  await recordQuietly(opts, { source: opts.source, protocol: opts.protocol, peerAddress: socket.remoteAddress ?? 'unknown', outcome: 'refused', reason: failure.reason });
}

async function recordQuietly(opts: Pick<AdmissionOptions, 'security' | 'logger'>, event: TlsConnectionEvent): Promise<void> {
  try {
    await opts.security?.recordConnection(event);
  } catch (err) {
    // The connection is refused either way; the failure to record it is in the log.
    opts.logger.error('audit record of a refused TLS connection could not be written', { peer: event.peerAddress, reason: event.reason, error: (err as Error).message });
  }
}
