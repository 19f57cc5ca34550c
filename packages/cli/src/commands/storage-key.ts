/**
 * `meshlog storage-key generate|rotate`: keys for encryption at rest of the
 * embedded store. `generate` prints one key line (the one place a key is
 * meant to be printed: it goes to stdout, for `>> keyfile` or a secret
 * store); `rotate` appends a new key to a key file without printing it.
 *
 * Loads only the key module (`@meshlog/store/encryption`), not the engine.
 */
import { StorageEncryptionError, defaultKeyFilePath, formatKeyLine, generateKeyHex, rotateKeyFile } from '@meshlog/store/encryption';
import { CliError } from './client.js';

export function storageKeyGenerate(opts: { id: number }): void {
  if (process.stdout.isTTY) process.stderr.write('meshlog: this prints a secret key; redirect it into a key file (mode 0600) or a secret store\n');
  process.stdout.write(formatKeyLine(opts.id, generateKeyHex()) + '\n');
}

export function storageKeyRotate(opts: { keyFile?: string; dataDir?: string }): void {
  const dataDir = opts.dataDir ?? 'data';
  const keyFile = opts.keyFile ?? defaultKeyFilePath(dataDir);
  try {
    const { newId } = rotateKeyFile(keyFile, opts.dataDir !== undefined ? { dataDir } : {});
    process.stderr.write(
      `meshlog: added key id ${newId} to ${keyFile}. It encrypts new data from the next server start; ` +
        `older data stays readable with the older ids, so keep every line (and any copy of this file in step).\n`,
    );
  } catch (err) {
    if (err instanceof StorageEncryptionError) throw new CliError(err.message, 2);
    throw err;
  }
}
