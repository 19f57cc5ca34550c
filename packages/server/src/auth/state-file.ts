/**
 * One JSON state file under `<data-dir>/auth/` (tokens, users, sessions),
 * shared by the running server and the offline CLI (`meshlog user|token`).
 *
 * Invariants:
 * - every change is read-modify-write under an exclusive lock file
 *   (`<file>.lock`, created with O_EXCL), re-reading the file first, so a
 *   CLI change and a server change made at the same time both survive;
 * - the file is replaced atomically (temp file, fsync, rename) and is
 *   mode 0600 from its first byte; the directory is 0700;
 * - readers see another process's change once the file's identity (inode,
 *   size, mtime) differs from the one they loaded; `read({ maxAgeMs })`
 *   bounds how often that is checked (one stat), so hot paths stay cheap.
 *
 * Synchronous on purpose: the files are small, changes are rare (sign-ins,
 * token mints, a throttled last-used time), and a synchronous update can
 * never interleave with another update of the same process.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync, chmodSync } from 'node:fs';
import { dirname } from 'node:path';

/** A lock older than this whose owner cannot be checked is taken over (a crashed writer). */
const STALE_LOCK_MS = 30_000;
const LOCK_WAIT_MS = 5_000;

export class StateFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateFileError';
  }
}

export class StateFile<T> {
  private value: T | undefined;
  private identity = '';
  private checkedAt = 0;

  constructor(
    readonly path: string,
    /** Parses the file's JSON (upgrading older versions); throws with a message naming the problem. */
    private readonly parse: (raw: unknown) => T,
    private readonly empty: () => T,
  ) {}

  /** The current state; checks the file for another process's change at most every `maxAgeMs`. */
  read(opts: { maxAgeMs?: number } = {}): T {
    const now = Date.now();
    if (this.value !== undefined && opts.maxAgeMs !== undefined && now - this.checkedAt < opts.maxAgeMs) return this.value;
    this.checkedAt = now;
    const id = fileIdentity(this.path);
    if (this.value === undefined || id !== this.identity) {
      this.value = id === '' ? this.empty() : this.load();
      this.identity = id;
    }
    return this.value;
  }

  /** Applies `change` to the freshest state under the lock and writes the result; returns what `change` returned. */
  update<R>(change: (state: T) => R): R {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    const release = acquireLock(`${this.path}.lock`);
    try {
      this.checkedAt = 0;
      const state = this.read();
      // A failed change leaves the file and the cached state untouched.
      const draft = structuredClone(state);
      const result = change(draft);
      writeAtomic(this.path, JSON.stringify(draft, null, 2) + '\n');
      this.value = draft;
      this.identity = fileIdentity(this.path);
      this.checkedAt = Date.now();
      return result;
    } finally {
      release();
    }
  }

  private load(): T {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(this.path, 'utf8'));
    } catch (err) {
      throw new StateFileError(`${this.path} is not valid JSON (${(err as Error).message}); restore it from a backup or move it away to start empty`);
    }
    try {
      return this.parse(raw);
    } catch (err) {
      throw new StateFileError(`${this.path}: ${(err as Error).message}`);
    }
  }
}

function fileIdentity(path: string): string {
  try {
    const s = statSync(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

/** Atomic write with mode 0600 from the first byte, durable before the rename makes it visible. */
export function writeAtomic(path: string, content: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

function acquireLock(lockPath: string): () => void {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fd = openSync(lockPath, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          unlinkSync(lockPath);
        } catch {
          // already taken over as stale; nothing to release
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (lockIsStale(lockPath)) {
      try {
        unlinkSync(lockPath);
      } catch {
        // another process took it over first
      }
      continue;
    }
    if (Date.now() > deadline) {
      throw new StateFileError(`${lockPath} is held by another meshlog process (the server or a \`meshlog user|token\` command) for over ${LOCK_WAIT_MS / 1000} s; retry, or remove the lock file if no such process runs`);
    }
    Atomics.wait(sleeper, 0, 0, 10);
  }
}

function lockIsStale(lockPath: string): boolean {
  try {
    const pid = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
    if (Number.isInteger(pid) && pid > 0) {
      try {
        process.kill(pid, 0);
        return false;
      } catch (err) {
        // EPERM: alive but someone else's; ESRCH: gone.
        return (err as NodeJS.ErrnoException).code === 'ESRCH';
      }
    }
    return Date.now() - statSync(lockPath).mtimeMs > STALE_LOCK_MS;
  } catch {
    return false;
  }
}
