/**
 * What a TLS peer proved: the client certificate it presented, whether the
 * listener verified it against its client CA, and the SPIFFE ID it carries
 * (an X509-SVID's one URI SAN, `spiffe://<trust domain>/<path>`).
 */
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { PeerCertificateInfo } from '@meshlog/core';

export type PresentedCertificate =
  | { verified: true; info: PeerCertificateInfo }
  /** Presented but not verified (client_auth: optional): `reason` says why. */
  | { verified: false; info: PeerCertificateInfo; reason: string };

/** What `presentedCertificate` reads of a TLS socket. */
export interface TlsPeer {
  getPeerCertificate(): PeerCertificate | null | undefined;
  authorized: boolean;
  authorizationError: Error | string | null | undefined;
}

/** The client certificate of a connection, or undefined when none was presented. */
export function presentedCertificate(socket: TlsPeer): PresentedCertificate | undefined {
  const cert = socket.getPeerCertificate();
  // No certificate: Node returns an empty object (or null once the socket is gone).
  if (!cert || !cert.raw) return undefined;
  const info = describePeerCertificate(cert);
  if (socket.authorized) return { verified: true, info };
  const code = String(socket.authorizationError ?? 'unknown error');
  return { verified: false, info, reason: `the client certificate ${info.subject} (serial ${info.serial}) is not signed by the listener's client CA (${code})` };
}

export function describePeerCertificate(cert: PeerCertificate): PeerCertificateInfo {
  return {
    spiffeIds: uriSans(cert.subjectaltname ?? '').filter((u) => u.startsWith('spiffe://')),
    subject: subjectText(cert.subject),
    serial: (cert.serialNumber ?? '').toUpperCase(),
    fingerprint256: cert.fingerprint256 ?? '',
  };
}

/**
 * The URI entries of Node's `subjectaltname` text (`DNS:a, URI:spiffe://td/x`).
 * Node quotes a value that contains a comma or quote as a JSON string.
 */
export function uriSans(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon < 0) break;
    const type = text.slice(i, colon).trim();
    let value: string;
    let end: number;
    if (text[colon + 1] === '"') {
      // A JSON string: find its closing quote.
      let j = colon + 2;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      try {
        value = JSON.parse(text.slice(colon + 1, j + 1)) as string;
      } catch {
        value = '';
      }
      end = text.indexOf(',', j);
    } else {
      end = text.indexOf(',', colon);
      value = text.slice(colon + 1, end < 0 ? undefined : end);
    }
    if (type === 'URI' && value !== '') out.push(value);
    if (end < 0) break;
    i = end + 1;
  }
  return out;
}

function subjectText(subject: PeerCertificate['subject'] | undefined): string {
  if (!subject) return '(no subject)';
  const parts = Object.entries(subject).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => `${k}=${String(x)}`) : [`${k}=${String(v)}`]));
  return parts.length > 0 ? parts.join(', ') : '(empty subject)';
}

/**
 * Why a server-side handshake failed, in words for logs and audit records
 * (OpenSSL's own text is a long line of internals). `peerClosed`: the peer
 * went away before the listener decided anything (not a refusal).
 */
export function handshakeFailure(err: Error, socket: Pick<TLSSocket, 'authorizationError'>): { reason: string; peerClosed: boolean } {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  // With client_auth: required Node destroys a connection whose certificate fails verification; the error is then only a hang-up.
  if (socket.authorizationError) {
    return { reason: `client certificate refused: not signed by the listener's client CA (${String(socket.authorizationError)})`, peerClosed: false };
  }
  if (code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') return { reason: 'no client certificate presented (client_auth: required)', peerClosed: false };
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return { reason: 'TLS handshake not completed in time', peerClosed: false };
  if (code === 'ECONNRESET') return { reason: 'the peer closed the connection during the TLS handshake', peerClosed: true };
  const openssl = /:error:[0-9A-Fa-f]+:[^:]*:[^:]*:([^:]+):/.exec(err.message);
  return { reason: `TLS handshake failed: ${openssl ? openssl[1] : err.message.split('\n')[0]}${code ? ` (${code})` : ''}`, peerClosed: false };
}
