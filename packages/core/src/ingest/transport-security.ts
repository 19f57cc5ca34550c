/**
 * The contract between sources that own a TLS listener of their own (syslog
 * over TLS, Fluent forward over TLS) and the role that hosts them. The
 * server offers it under TRANSPORT_SECURITY_SERVICE; the agent does not, and
 * sources then keep their configured tenant and record nothing.
 *
 * It keeps identity decisions and the audit trail out of the sources (which
 * must not import the server): a source hands over what the TLS handshake
 * proved about the peer, and gets back the tenant its records belong to, or
 * why the connection is refused.
 *
 * Invariants:
 * - only a certificate the listener *verified* against its client CA is
 *   ever passed to `identifyPeer`;
 * - every accepted and every refused TLS connection is passed to
 *   `recordConnection` exactly once; a source reads nothing from an accepted
 *   connection before that record is durable, and closes the connection
 *   when it cannot be written (fail closed, like every audited call).
 */

/** TRANSPORT_SECURITY_SERVICE is the name the host offers `TransportSecurity` under. */
export const TRANSPORT_SECURITY_SERVICE = 'transport-security';

/** What a verified client certificate says about its holder (no key material). */
export interface PeerCertificateInfo {
  /** The SPIFFE IDs among its URI SANs (an X509-SVID has exactly one). */
  spiffeIds: string[];
  /** Subject as `CN=...` (for messages and audit records). */
  subject: string;
  /** Serial number, upper-case hex. */
  serial: string;
  /** SHA-256 fingerprint, colon-separated hex. */
  fingerprint256: string;
}

/** Who a certificate stands for, or why it stands for nobody. */
export type PeerVerdict = { tenant: string; id: string } | { refuse: string };

/** One TLS connection to a source's listener, accepted or refused. */
export interface TlsConnectionEvent {
  /** The source's component id (`syslog`, `fluent`). */
  source: string;
  /** The protocol spoken on it (`syslog`, `fluent`), for the audit action. */
  protocol: string;
  peerAddress: string;
  outcome: 'accepted' | 'refused';
  /** Why it was refused (handshake error, unknown CA, no matching rule). */
  reason?: string;
  /** The verified client certificate, when one was presented and verified. */
  certificate?: PeerCertificateInfo;
  /** The tenant the connection's records go to (accepted connections). */
  tenant?: string;
  /** The identity the certificate was mapped to (the SPIFFE ID). */
  identity?: string;
  /** Negotiated TLS version (`TLSv1.3`). */
  tlsVersion?: string;
}

export interface TransportSecurity {
  /**
   * Maps a verified client certificate to the tenant its connection writes
   * to. Undefined: the host maps no certificates (no rules configured), so
   * the connection keeps the source's tenant; the listener's client CA
   * alone decides who may connect, as it did before identities existed.
   */
  identifyPeer(certificate: PeerCertificateInfo): PeerVerdict | undefined;
  /** Appends one audit record; resolves when it is durable, rejects when it cannot be written. */
  recordConnection(event: TlsConnectionEvent): Promise<void>;
  /**
   * The host asks every certificate watcher to re-read its files now
   * (SIGHUP). Returns the function that unsubscribes.
   */
  onReloadRequest(listener: () => void): () => void;
}
