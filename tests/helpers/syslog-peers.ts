/**
 * Real syslog peers for integration tests: util-linux `logger`, rsyslog and
 * syslog-ng, each run as a throwaway instance in its own temp dir with its
 * own config, pid file and work dir, reading local input from a unix socket
 * (what applications log to) and forwarding as the config says.
 *
 * Debian's rsyslog and syslog-ng-core conflict, so .ci/run installs
 * syslog-ng-core and unpacks rsyslog (and rsyslog-gnutls) into
 * /opt/meshlog-peers/rsyslog (`MESHLOG_RSYSLOG_ROOT` overrides); it runs
 * from there with `-M <root>/usr/lib/<arch>/rsyslog`. An installed rsyslog
 * is used when there is no unpacked one.
 *
 * Invariants: nothing outside the temp dir is written; `stop()` ends the
 * process (SIGTERM, then SIGKILL after 5 s) and is safe twice.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RsyslogInstall {
  bin: string;
  moduleDir: string;
  /** lmnsd_gtls.so is there (Debian's rsyslog-gnutls). */
  tls: boolean;
}

export interface SyslogPeerTools {
  logger: string | undefined;
  rsyslog: RsyslogInstall | undefined;
  /** Why rsyslog is missing, when it is. */
  rsyslogProblem: string | undefined;
  syslogNg: string | undefined;
  /** `3.38`, for the config's @version line. */
  syslogNgVersion: string | undefined;
  loggen: string | undefined;
}

const SEARCH = [...(process.env['PATH'] ?? '').split(':').filter(Boolean), '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

function exe(name: string, dirs = SEARCH): string | undefined {
  for (const d of dirs) {
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

function rsyslogAt(root: string): RsyslogInstall | string | undefined {
  const bin = join(root, 'usr/sbin/rsyslogd');
  if (!existsSync(bin)) return undefined;
  const lib = join(root, 'usr/lib');
  const arch = existsSync(lib) ? readdirSync(lib).find((d) => existsSync(join(lib, d, 'rsyslog', 'imtcp.so'))) : undefined;
  if (!arch) return `${bin} has no module directory under ${lib}/<arch>/rsyslog`;
  const moduleDir = join(lib, arch, 'rsyslog');
  try {
    execFileSync(bin, ['-v'], { stdio: 'ignore' });
  } catch (err) {
    return `${bin} does not run (${(err as Error).message.split('\n')[0]}); its libraries libestr0 libfastjson4 liblognorm5 must be installed`;
  }
  return { bin, moduleDir, tls: existsSync(join(moduleDir, 'lmnsd_gtls.so')) };
}

export function findSyslogPeers(): SyslogPeerTools {
  let rsyslog: RsyslogInstall | undefined;
  let rsyslogProblem: string | undefined = 'rsyslog not found (.ci/run unpacks it into /opt/meshlog-peers/rsyslog)';
  for (const root of [process.env['MESHLOG_RSYSLOG_ROOT'], '/opt/meshlog-peers/rsyslog', '/']) {
    if (!root) continue;
    const r = rsyslogAt(root);
    if (r === undefined) continue;
    if (typeof r === 'string') {
      rsyslogProblem = r;
      continue;
    }
    rsyslog = r;
    rsyslogProblem = undefined;
    break;
  }
  const syslogNg = exe('syslog-ng');
  let syslogNgVersion: string | undefined;
  if (syslogNg) {
    try {
      syslogNgVersion = /syslog-ng \d+ \((\d+\.\d+)/.exec(execFileSync(syslogNg, ['--version'], { encoding: 'utf8' }))?.[1];
    } catch {
      // unusable
    }
  }
  return { logger: exe('logger'), rsyslog, rsyslogProblem, syslogNg: syslogNgVersion ? syslogNg : undefined, syslogNgVersion, loggen: exe('loggen') };
}

export interface SyslogPeer {
  name: string;
  dir: string;
  /** The unix socket the peer reads local messages from. */
  socket: string;
  /** Logs one message into the peer's local socket, as an application would (`logger -u`). */
  send(tag: string, priority: string, message: string): Promise<void>;
  output(): string;
  stop(): Promise<void>;
}

async function runPeer(name: string, bin: string, args: string[], dir: string, socket: string, logger: string): Promise<SyslogPeer> {
  const proc: ChildProcess = spawn(bin, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((res) => proc.once('exit', () => res()));
  const deadline = Date.now() + 15_000;
  while (!existsSync(socket)) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`${name} exited before creating ${socket}:\n${out}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`${name} did not create ${socket} within 15 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  let stopped: Promise<void> | undefined;
  return {
    name,
    dir,
    socket,
    output: () => out,
    send: async (tag, priority, message) => {
      const p = spawn(logger, ['-u', socket, '-t', tag, '-p', priority, '--', message], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      const code = await new Promise<number | null>((res) => p.once('exit', (c) => res(c)));
      if (code !== 0) throw new Error(`logger -u ${socket} failed (${code}): ${err}`);
    },
    stop: () =>
      (stopped ??= (async () => {
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      })()),
  };
}

/**
 * rsyslog reading its local socket (imuxsock, without the system socket)
 * into a ruleset of `actions` (RainerScript action() lines). Its own
 * internal messages go to a file in `dir`, not to the actions.
 */
export async function startRsyslog(tools: SyslogPeerTools, dir: string, actions: string[], opts: { caFile?: string } = {}): Promise<SyslogPeer> {
  const rs = tools.rsyslog!;
  const socket = join(dir, 'log.sock');
  const conf = join(dir, 'rsyslog.conf');
  writeFileSync(
    conf,
    [
      `global(workDirectory="${dir}"${opts.caFile ? ` defaultNetstreamDriverCAFile="${opts.caFile}"` : ''})`,
      `module(load="imuxsock" SysSock.Use="off")`,
      `input(type="imuxsock" Socket="${socket}" CreatePath="on" ruleset="forward")`,
      `ruleset(name="forward") {`,
      ...actions.map((a) => `  ${a}`),
      `}`,
      `action(type="omfile" file="${join(dir, 'rsyslog-internal.log')}")`,
      '',
    ].join('\n'),
  );
  return runPeer('rsyslog', rs.bin, ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid'), '-M', rs.moduleDir], dir, socket, tools.logger!);
}

/** syslog-ng reading its local socket (unix-dgram) into `destinations` (destination bodies). */
export async function startSyslogNg(tools: SyslogPeerTools, dir: string, destinations: string[]): Promise<SyslogPeer> {
  const socket = join(dir, 'log.sock');
  const conf = join(dir, 'syslog-ng.conf');
  writeFileSync(
    conf,
    [
      `@version: ${tools.syslogNgVersion}`,
      `options { chain_hostnames(no); keep_hostname(yes); };`,
      `source s_local { unix-dgram("${socket}"); };`,
      ...destinations.map((d, i) => `destination d${i} { ${d} };`),
      `log { source(s_local); ${destinations.map((_, i) => `destination(d${i});`).join(' ')} };`,
      '',
    ].join('\n'),
  );
  const args = ['-F', '--no-caps', '-e', '-f', conf, '-p', join(dir, 'syslog-ng.pid'), '-R', join(dir, 'syslog-ng.persist'), '-c', join(dir, 'syslog-ng.ctl')];
  return runPeer('syslog-ng', tools.syslogNg!, args, dir, socket, tools.logger!);
}

/** Runs `logger` against a remote server and waits for it. */
export async function runLogger(logger: string, args: string[]): Promise<void> {
  const p = spawn(logger, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((res) => p.once('exit', (c) => res(c)));
  if (code !== 0) throw new Error(`logger ${args.join(' ')} failed (${code}): ${err}`);
}
