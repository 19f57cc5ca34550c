/**
 * Client certificates on the HTTP listener (`server.tls.client_auth`
 * optional or required): the authenticator that runs before the token
 * authenticator.
 *
 * Precedence, per request:
 * 1. a certificate presented but not verified against the client CA
 *    (possible with client_auth: optional): 401 naming why, whatever else
 *    the request carries; a client with a bad certificate is misconfigured
 *    or hostile, and a token must not paper over that;
 * 2. a verified certificate whose SPIFFE ID matches a rule: that rule's
 *    principal, and a token on the same request is not looked at (the
 *    connection's identity is the stronger proof, as in Kubernetes' x509
 *    authenticator);
 * 3. a verified certificate no rule matches: the request's token or UI
 *    session decides (a person with a certificate of the organisation's
 *    CA); without either, 401 naming the SPIFFE ID;
 * 4. no certificate: tokens and sessions, as on a listener without TLS.
 */
import { TLSSocket } from 'node:tls';
import { presentedToken } from '@meshlog/core';
import { presentedCertificate } from '@meshlog/components';
import type { CertificateIdentities } from '../auth/certificate-rules.js';
import type { HttpAuthenticator, RouteCredentialsConfig } from './auth-hook.js';
import { ApiError } from './errors.js';
import { sessionIdOf } from './session-auth.js';

export function certificateAuthenticator(identities: CertificateIdentities): HttpAuthenticator {
  return (req) => {
    const socket = req.raw.socket;
    // Plaintext listeners and in-process `inject` have no TLS socket.
    if (!(socket instanceof TLSSocket)) return undefined;
    const presented = presentedCertificate(socket);
    if (!presented) return undefined;
    if (!presented.verified) {
      return { refuse: new ApiError('unauthenticated', `${presented.reason}: present a certificate signed by server.tls.client_ca_file, or none and an API token`, { authFailure: 'invalid' }) };
    }
    const identity = identities.identify(presented.info);
    if ('principal' in identity) return { principal: identity.principal };
    const locations = (req.routeOptions.config as RouteCredentialsConfig).credentials ?? [];
    const token = presentedToken(req.headers, locations);
    const otherCredential = !('failure' in token && token.failure === 'missing') || sessionIdOf(req) !== undefined;
    if (!otherCredential) return { refuse: new ApiError('unauthenticated', identity.refuse, { authFailure: 'invalid' }) };
    return undefined;
  };
}
