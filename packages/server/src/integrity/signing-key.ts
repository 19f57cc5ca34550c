/**
 * The checkpoint signing key: an Ed25519 private key in a PEM file that must
 * live outside the data dir (whoever can rewrite the data must not also hold
 * the key that vouches for it). Created, mode 0600, when missing; the public
 * key is written beside it (`.pub`) for auditors.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve, isAbsolute } from 'node:path';

export class SigningKeyError extends Error {
  override readonly name = 'SigningKeyError';
}

export function defaultKeyFile(dataDir: string): string {
  return `${resolve(dataDir)}-integrity/signing-key.pem`;
}

export function loadSigningKey(file: string, dataDir: string, opts: { create: boolean }): { key: KeyObject; created: boolean; publicKeyFile: string } {
  const path = resolve(file);
  const rel = relative(resolve(dataDir), path);
  if (!rel.startsWith('..') && !isAbsolute(rel))
    throw new SigningKeyError(`integrity.key_file ${path} is inside the data dir ${resolve(dataDir)}; move it elsewhere (whoever can rewrite the data must not hold the signing key)`);
  let created = false;
  if (!existsSync(path)) {
    if (!opts.create) throw new SigningKeyError(`integrity key file ${path} does not exist`);
    const { privateKey } = generateKeyPairSync('ed25519');
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    created = true;
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(path));
  } catch (err) {
    throw new SigningKeyError(`integrity key file ${path} is not a PEM private key: ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new SigningKeyError(`integrity key file ${path} holds a ${key.asymmetricKeyType} key; checkpoints are signed with Ed25519`);
  const publicKeyFile = `${path}.pub`;
  writeFileSync(publicKeyFile, createPublicKey(key).export({ type: 'spki', format: 'pem' }));
  return { key, created, publicKeyFile };
}
