/**
 * Slow hashes of secrets at rest: argon2id (RFC 9106) for passwords and API
 * token secrets, with the parameters OWASP recommends as a floor (19 MiB,
 * 2 passes, 1 lane; ~40 ms here). The encoded form (`$argon2id$v=19$m=…`)
 * carries its parameters, so raising them later leaves old hashes verifying.
 * Hashing runs on libuv's thread pool (the async calls), off the event loop.
 *
 * `verifyAgainstNothing` spends the same time as a real check, so a caller
 * cannot tell an unknown user from a wrong password by the answer's timing.
 */
import { hash, hashSync, verify } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';

// `algorithm: 2` is Algorithm.Argon2id (a const enum, which isolated modules cannot read).
const PARAMS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashSecret(secret: string): Promise<string> {
  return hash(secret, PARAMS);
}

/** For the offline CLI and tests, where blocking is harmless. */
export function hashSecretSync(secret: string): string {
  return hashSync(secret, PARAMS);
}

/** False for a wrong secret and for a malformed stored hash (never throws on either). */
export async function verifySecret(encoded: string, secret: string): Promise<boolean> {
  try {
    return await verify(encoded, secret);
  } catch {
    return false;
  }
}

let dummy: Promise<string> | undefined;

/** The same work as `verifySecret` against a real hash; always false. */
export async function verifyAgainstNothing(secret: string): Promise<false> {
  dummy ??= hashSecret(randomBytes(16).toString('hex'));
  await verifySecret(await dummy, secret);
  return false;
}
