/**
 * Fuzz: thousands of mutations of real syslog lines (seeded, so a failure
 * reproduces) through the framer, both parsers and the record mapping. The
 * only acceptable outcome is a result: a parse or a reason, never a throw.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSyslog } from './syslog-parse.js';
import { SyslogFramer } from './syslog-framing.js';
import { ResourceCache, syslogRecord } from './syslog-record.js';

const SEEDS = [
  "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \uFEFF'su root' failed for lonvick on /dev/pts/8",
  '<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It\'s time to make the do-nuts.',
  '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]',
  '<13>1 2024-06-15T11:00:00Z h app 1 - [x@1 a="say \\"hi\\"" b="C:\\\\dir" c="[1\\]"] msg',
  '<13>1 - - - - - -',
  "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
  '<86>Jun  5 08:03:01 web-1 sshd[4121]: Accepted publickey for deploy',
  '<30>Jun 15 11:59:00 systemd[1]: Started Session 4 of user root.',
  '<11>2026-11-24T05:47:38.787933+00:00 vm rsapp: hello via rsyslog',
  '<13>Jun 15 2019 10:00:00.250 h app: x',
  '<13>Feb 29 10:00:00 h app: x',
  '<191>x',
  'no pri at all',
];

const ALPHABET = '<>[]="\\ :-.0123456789TZ+\n\0\uFEFFJanDec@ab\u00e9\u2713';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(s: string, r: () => number): string {
  let out = s;
  const edits = 1 + Math.floor(r() * 6);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(r() * (out.length + 1));
    const ch = ALPHABET[Math.floor(r() * ALPHABET.length)]!;
    switch (Math.floor(r() * 6)) {
      case 0:
        out = out.slice(0, at) + ch + out.slice(at);
        break;
      case 1:
        out = out.slice(0, at) + out.slice(at + 1 + Math.floor(r() * 8));
        break;
      case 2:
        out = out.slice(0, at) + ch + out.slice(at + 1);
        break;
      case 3:
        out = out.slice(0, at);
        break;
      case 4: {
        const other = SEEDS[Math.floor(r() * SEEDS.length)]!;
        out = out.slice(0, at) + other.slice(Math.floor(r() * other.length));
        break;
      }
      default:
        out = out.slice(0, at) + String.fromCharCode(Math.floor(r() * 0xffff)) + out.slice(at);
    }
  }
  return out;
}

test('parsers and mapping return a result for every mutated line (20,000 cases, seed 1)', () => {
  const r = rng(1);
  const cache = new ResourceCache();
  const now = Date.UTC(2025, 0, 1, 0, 0, 5);
  let parsed = 0;
  let rejected = 0;
  for (let i = 0; i < 20_000; i++) {
    const line = mutate(SEEDS[i % SEEDS.length]!, r);
    let result: ReturnType<typeof parseSyslog>;
    try {
      result = parseSyslog(line, now);
      if (result.ok) syslogRecord(result.message, 1n, { peerAddress: undefined, transport: 'udp' }, cache);
    } catch (err) {
      assert.fail(`threw on ${JSON.stringify(line)}: ${(err as Error).stack}`);
    }
    if (result.ok) {
      parsed++;
      assert.ok(result.message.facility >= 0 && result.message.facility <= 23);
      assert.ok(result.message.severity >= 0 && result.message.severity <= 7);
    } else {
      rejected++;
      assert.equal(typeof result.error, 'string');
      assert.ok(result.error.length > 0);
    }
  }
  // Both outcomes must be exercised, or the mutations are too weak (or too strong) to mean anything.
  assert.ok(parsed > 2000 && rejected > 2000, `parsed ${parsed}, rejected ${rejected}`);
});

test('the framer takes random bytes in random chunks without throwing, and bounds every frame', () => {
  const r = rng(2);
  for (let trial = 0; trial < 200; trial++) {
    const f = new SyslogFramer(100);
    const on = (frame: Buffer, original: number): void => {
      assert.ok(frame.length <= 100);
      assert.ok(original >= frame.length);
    };
    for (let c = 0; c < 20; c++) {
      const chunk = Buffer.alloc(Math.floor(r() * 300));
      for (let i = 0; i < chunk.length; i++) chunk[i] = r() < 0.3 ? '0123456789 \n<'.charCodeAt(Math.floor(r() * 14)) : Math.floor(r() * 256);
      f.push(chunk, on);
      assert.ok(f.bufferedBytes <= 100);
    }
    f.end(on);
  }
});
