/**
 * Request bodies framed in one file, written once before a measurement so
 * the sender costs almost nothing while it runs:
 *
 *   +-------------------+-------------+-------------------+-------------+---
 *   | length (u32 LE)   | body        | length (u32 LE)   | body        | ...
 *   +-------------------+-------------+-------------------+-------------+---
 */
import { closeSync, openSync, readSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';

/** The bodies of a framed file, read one at a time (synchronously: callers share one iterator). */
export function* readPayloads(path: string): Generator<Buffer, void, undefined> {
  const fd = openSync(path, 'r');
  try {
    let offset = 0;
    const header = Buffer.alloc(4);
    while (readSync(fd, header, 0, 4, offset) === 4) {
      const len = header.readUInt32LE();
      const body = Buffer.alloc(len);
      readSync(fd, body, 0, len, offset + 4);
      offset += 4 + len;
      yield body;
    }
  } finally {
    closeSync(fd);
  }
}

/** Appends one framed body, honouring the stream's backpressure. */
export async function writePayload(out: WriteStream, body: Buffer): Promise<void> {
  const header = Buffer.alloc(4);
  header.writeUInt32LE(body.length);
  if (!out.write(header)) await once(out, 'drain');
  if (!out.write(body)) await once(out, 'drain');
}
