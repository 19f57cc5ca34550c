/**
 * The syslog side of the ingest benchmark: a sender (`loggen` from
 * syslog-ng, or a Node sender when it is missing) and the peers that
 * receive the same stream into a file, each a throwaway instance in its own
 * temp dir: rsyslog (imtcp -> omfile) and syslog-ng (network() -> file()),
 * both as Debian ships them, default queue and flush settings.
 *
 * rsyslog is found unpacked in /opt/meshlog-peers/rsyslog (how .ci/run
 * installs it beside syslog-ng-core; `MESHLOG_RSYSLOG_ROOT` overrides) or
 * installed. Every process started here is stopped by the returned handle.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, openSync, readSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

const PATH = [...(process.env['PATH'] ?? '').split(':').filter(Boolean), '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export function which(name: string): string | undefined {
  for (const d of PATH) {
    try {
      accessSync(join(d, name), constants.X_OK);
      return join(d, name);
    } catch {
      // next
    }
  }
  return undefined;
}

export interface Rsyslog {
  bin: string;
  moduleDir: string;
}

/** rsyslogd and its module dir, or why it cannot run here. */
export function findRsyslog(): Rsyslog | string {
  let problem = 'rsyslogd not found (see .ci/run: apt-get download rsyslog + dpkg -x into /opt/meshlog-peers/rsyslog)';
  for (const root of [process.env['MESHLOG_RSYSLOG_ROOT'], '/opt/meshlog-peers/rsyslog', '/']) {
    if (!root) continue;
    const bin = join(root, 'usr/sbin/rsyslogd');
    if (!existsSync(bin)) continue;
    const lib = join(root, 'usr/lib');
    const arch = readdirSync(lib).find((d) => existsSync(join(lib, d, 'rsyslog', 'imtcp.so')));
    if (!arch) {
      problem = `${bin}: no module dir under ${lib}`;
      continue;
    }
    try {
      execFileSync(bin, ['-v'], { stdio: 'ignore' });
    } catch {
      problem = `${bin} does not run: install libestr0 libfastjson4 liblognorm5`;
      continue;
    }
    return { bin, moduleDir: join(lib, arch, 'rsyslog') };
  }
  return problem;
}

export function syslogNgVersion(bin: string): string | undefined {
  try {
    return /syslog-ng \d+ \((\d+\.\d+)/.exec(execFileSync(bin, ['--version'], { encoding: 'utf8' }))?.[1];
  } catch {
    return undefined;
  }
}

export interface Child {
  proc: ChildProcess;
  output(): string;
  /** CPU seconds (user + system) the process has used so far. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

export function startChild(bin: string, args: string[], cwd: string): Child {
  const proc = spawn(bin, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  proc.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const exited = new Promise<void>((res) => proc.once('exit', () => res()));
  let stopping: Promise<void> | undefined;
  return {
    proc,
    output: () => out,
    cpuSeconds: () => cpuSecondsOf(proc.pid),
    stop: () =>
      (stopping ??= (async () => {
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      })()),
  };
}

/** utime + stime of a process from /proc, in seconds (0 when it is gone). */
export function cpuSecondsOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the command: state is index 0, utime 11, stime 12 (man 5 proc), in clock ticks (100/s on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

export async function waitForPort(port: number, child: Child | undefined, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        res(true);
      });
      s.once('error', () => res(false));
    });
    if (ok) return;
    if (child && child.proc.exitCode !== null) throw new Error(`${what} exited:\n${child.output()}`);
    if (Date.now() > deadline) throw new Error(`${what} is not listening on ${port} after ${timeoutMs} ms:\n${child?.output() ?? ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function startRsyslogReceiver(rs: Rsyslog, dir: string, port: number, outFile: string): Child {
  const conf = join(dir, 'rsyslog.conf');
  writeFileSync(
    conf,
    [
      `global(workDirectory="${dir}")`,
      `module(load="imtcp")`,
      `input(type="imtcp" address="127.0.0.1" port="${port}" ruleset="bench")`,
      `ruleset(name="bench") { action(type="omfile" file="${outFile}") }`,
      // rsyslog's own messages stay out of the counted file.
      `action(type="omfile" file="${join(dir, 'internal.log')}")`,
      '',
    ].join('\n'),
  );
  return startChild(rs.bin, ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid'), '-M', rs.moduleDir], dir);
}

export function startSyslogNgReceiver(bin: string, version: string, dir: string, port: number, outFile: string): Child {
  const conf = join(dir, 'syslog-ng.conf');
  writeFileSync(
    conf,
    [
      `@version: ${version}`,
      `options { keep_hostname(yes); };`,
      `source s_net { network(ip("127.0.0.1") port(${port}) transport("tcp")); };`,
      `destination d_file { file("${outFile}"); };`,
      `log { source(s_net); destination(d_file); };`,
      '',
    ].join('\n'),
  );
  return startChild(bin, ['-F', '--no-caps', '-f', conf, '-p', join(dir, 'syslog-ng.pid'), '-R', join(dir, 'syslog-ng.persist'), '-c', join(dir, 'syslog-ng.ctl')], dir);
}

/** Counts lines appended to a file, reading only what is new since the last call. */
export class LineCounter {
  private offset = 0;
  private lines = 0;
  private readonly buf = Buffer.alloc(1 << 20);
  constructor(private readonly file: string) {}

  count(): number {
    if (!existsSync(this.file)) return 0;
    const size = statSync(this.file).size;
    if (size <= this.offset) return this.lines;
    const fd = openSync(this.file, 'r');
    try {
      while (this.offset < size) {
        const n = readSync(fd, this.buf, 0, Math.min(this.buf.length, size - this.offset), this.offset);
        if (n <= 0) break;
        for (let i = 0; i < n; i++) if (this.buf[i] === 0x0a) this.lines++;
        this.offset += n;
      }
    } finally {
      closeSync(fd);
    }
    return this.lines;
  }
}
