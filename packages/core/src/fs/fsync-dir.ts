/**
 * Directory fsync: after a file is created, renamed or deleted, the entry
 * itself is durable only once its directory is synced (POSIX). Every
 * durable store here (ingest WAL, agent disk buffer, key and marker files)
 * needs it after a rename or a new segment.
 */
import { closeSync, constants, fsyncSync, openSync } from 'node:fs';

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
