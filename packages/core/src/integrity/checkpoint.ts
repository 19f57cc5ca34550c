/**
 * Signed checkpoints (signed tree heads): the log's size, root and time,
 * signed with Ed25519. The signed message is text, one field a line, so it
 * reads in a hex dump and cannot be confused with any other message:
 *
 *   meshlog-checkpoint/v1\n
 *   <origin: the log's id>\n
 *   <tree size, decimal>\n
 *   <root, hex>\n
 *   <time, RFC 3339 UTC>\n
 *
 * A key is named by its id: the first 16 hex digits of SHA-256 over its SPKI
 * DER encoding.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

export interface Checkpoint {
  origin: string;
  size: number;
  root: string;
  time: string;
  key_id: string;
  /** Ed25519 signature over `checkpointMessage`, base64. */
  signature: string;
}

export function checkpointMessage(c: Pick<Checkpoint, 'origin' | 'size' | 'root' | 'time'>): Buffer {
  return Buffer.from(`meshlog-checkpoint/v1\n${c.origin}\n${c.size}\n${c.root}\n${c.time}\n`);
}

export function publicKeyDer(key: KeyObject): Buffer {
  return (key.type === 'private' ? createPublicKey(key) : key).export({ type: 'spki', format: 'der' });
}

export function keyIdOf(key: KeyObject): string {
  return createHash('sha256').update(publicKeyDer(key)).digest('hex').slice(0, 16);
}

export function signCheckpoint(body: Pick<Checkpoint, 'origin' | 'size' | 'root' | 'time'>, privateKey: KeyObject): Checkpoint {
  return { ...body, key_id: keyIdOf(privateKey), signature: sign(null, checkpointMessage(body), privateKey).toString('base64') };
}

export function checkpointSignatureValid(c: Checkpoint, publicKey: KeyObject): boolean {
  try {
    return verify(null, checkpointMessage(c), publicKey, Buffer.from(c.signature, 'base64'));
  } catch {
    return false;
  }
}

/** A public key from PEM text or base64 SPKI DER (what bundles and key leaves carry). */
export function parsePublicKey(text: string): KeyObject {
  const t = text.trim();
  if (t.startsWith('-----BEGIN')) {
    const k = t.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(t)) : createPublicKey(t);
    return k;
  }
  return createPublicKey({ key: Buffer.from(t, 'base64'), format: 'der', type: 'spki' });
}
