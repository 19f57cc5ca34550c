/**
 * The `meshlog` command: one binary, the role chosen by the subcommand
 * (`server`, `agent`) plus client commands (`query`, `demo`) and offline
 * identity commands (`user`, `token`). Exit codes:
 * 0 success, 1 failure, 2 bad usage or configuration.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { CliError } from './commands/client.js';

function int(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return n;
  };
}

const program: Command = new Command('meshlog')
  .description('Log aggregation for service meshes, with evidence a SOC 2 auditor can verify.')
  .showHelpAfterError()
  .configureOutput({ outputError: (str, write) => write(str) });

program
  .command('server')
  .description('run the server role: ingest, store (embedded chDB), query APIs')
  .option('--config <file>', 'YAML config file')
  .option('--data-dir <dir>', 'data directory (default: data)')
  .option('--listen <address>', 'address every listener binds (default 127.0.0.1)')
  .option('--http-port <n>', 'HTTP port for every HTTP API and the UI; 0 turns it off (default 3100)', int('--http-port'))
  .option('--grpc-port <n>', 'OTLP gRPC and Envoy ALS port; 0 turns it off (default 4317)', int('--grpc-port'))
  .option('--syslog-port <n>', 'syslog TCP and UDP port; 0 turns it off (default 5514)', int('--syslog-port'))
  .option('--syslog-tls-port <n>', 'syslog over TLS port; 0 turns it off (default 6514)', int('--syslog-tls-port'))
  .option('--forward-port <n>', 'Fluent forward port; 0 turns it off (default 24224)', int('--forward-port'))
  .option('--storage-key-file <file>', 'storage encryption key file (mode 0600, outside the data dir); overrides storage.embedded.encryption')
  .option('--demo', 'also send live demo mesh traffic to this server')
  .option('--demo-rate <n>', 'demo requests per second', int('--demo-rate'))
  .addOption(new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error']))
  .action(async (opts) => {
    const { serverCommand } = await import('./commands/server.js');
    await serverCommand(opts);
  });

program
  .command('agent')
  .description('run the agent role: collect on this node and ship to a server')
  .requiredOption('--config <file>', 'YAML config file')
  .action(async (opts: { config: string }) => {
    const { agentCommand } = await import('./commands/agent.js');
    await agentCommand(opts);
  });

const storageKey = program
  .command('storage-key')
  .description('keys for encryption at rest of the embedded store (see docs/storage.md)');

storageKey
  .command('generate')
  .description('print a new key line "<id> <64 hex digits>" for a key file or MESHLOG_STORAGE_KEYS')
  .option('--id <n>', 'the key id (a rotation uses the highest id so far + 1)', int('--id'), 0)
  .action(async (opts: { id: number }) => {
    const { storageKeyGenerate } = await import('./commands/storage-key.js');
    storageKeyGenerate(opts);
  });

storageKey
  .command('rotate')
  .description('append a new key with the next id to a key file; it encrypts new data from the next server start')
  .option('--key-file <file>', 'the key file (default: the one generated beside --data-dir)')
  .option('--data-dir <dir>', 'the data dir whose generated key file to rotate (default data)')
  .action(async (opts: { keyFile?: string; dataDir?: string }) => {
    const { storageKeyRotate } = await import('./commands/storage-key.js');
    storageKeyRotate(opts);
  });

const collect = (value: string, prior: string[]): string[] => [...prior, value];

const user = program.command('user').description('password users of a data dir, offline (safe beside a running server)');

user
  .command('add')
  .description('add a user; the password is read from the terminal (or the first line of stdin)')
  .argument('<username>')
  .option('--grant <tenant:roles>', 'roles in a tenant, e.g. default:analyst or payments:viewer,analyst (repeatable)', collect, [])
  .option('--data-dir <dir>', 'data directory (default data)')
  .option('--min-length <n>', 'shortest password accepted (the server default is 12)', int('--min-length'))
  .action(async (username: string, opts: { grant: string[]; dataDir?: string; minLength?: number }) => {
    const { userAdd } = await import('./commands/identities.js');
    await userAdd(username, opts);
  });

user
  .command('grant')
  .description("set a user's roles in tenants (--grant tenant: with no roles removes that grant)")
  .argument('<username>')
  .option('--grant <tenant:roles>', 'roles in a tenant, e.g. payments:analyst (repeatable)', collect, [])
  .option('--data-dir <dir>', 'data directory (default data)')
  .action(async (username: string, opts: { grant: string[]; dataDir?: string }) => {
    const { userGrant } = await import('./commands/identities.js');
    userGrant(username, opts);
  });

user
  .command('passwd')
  .description("set a user's password (read from the terminal or stdin); their sessions end")
  .argument('<username>')
  .option('--data-dir <dir>', 'data directory (default data)')
  .option('--min-length <n>', 'shortest password accepted (the server default is 12)', int('--min-length'))
  .action(async (username: string, opts: { dataDir?: string; minLength?: number }) => {
    const { userPasswd } = await import('./commands/identities.js');
    await userPasswd(username, opts);
  });

user
  .command('disable')
  .description('disable a user in every tenant; their sessions end')
  .argument('<username>')
  .option('--data-dir <dir>', 'data directory (default data)')
  .action(async (username: string, opts: { dataDir?: string }) => {
    const { userDisable } = await import('./commands/identities.js');
    userDisable(username, opts);
  });

user
  .command('list')
  .description('list users and their grants')
  .option('--data-dir <dir>', 'data directory (default data)')
  .action(async (opts: { dataDir?: string }) => {
    const { userList } = await import('./commands/identities.js');
    userList(opts);
  });

const token = program.command('token').description('API tokens of a data dir, offline (safe beside a running server)');

token
  .command('create')
  .description('create an API token and print its secret once (on stdout)')
  .option('--tenant <tenant>', 'the tenant the token is bound to', 'default')
  .option('--role <roles>', 'a role (repeatable, or comma-separated)', collect, [])
  .option('--scope <permissions>', 'narrow the roles to these permissions (repeatable, or comma-separated)', collect, [])
  .option('--description <text>', 'what the token is for (shown in listings and the audit trail)', 'created with meshlog token create')
  .option('--expires-in <duration>', 'e.g. 90d, 12h, 30m (default: never)')
  .option('--data-dir <dir>', 'data directory (default data)')
  .action(async (opts: { tenant: string; role: string[]; scope: string[]; description: string; expiresIn?: string; dataDir?: string }) => {
    const { tokenCreate } = await import('./commands/identities.js');
    tokenCreate(opts);
  });

token
  .command('list')
  .description('list API tokens (never their secrets)')
  .option('--tenant <tenant>', 'only this tenant')
  .option('--data-dir <dir>', 'data directory (default data)')
  .action(async (opts: { tenant?: string; dataDir?: string }) => {
    const { tokenList } = await import('./commands/identities.js');
    tokenList(opts);
  });

token
  .command('revoke')
  .description('revoke an API token by id (tok_...)')
  .argument('<id>')
  .option('--data-dir <dir>', 'data directory (default data)')
  .action(async (id: string, opts: { dataDir?: string }) => {
    const { tokenRevoke } = await import('./commands/identities.js');
    tokenRevoke(id, opts);
  });

const clientOptions = (c: Command): Command =>
  c
    .option('--server <url>', 'server URL (default $MESHLOG_SERVER or http://127.0.0.1:3100)')
    .option('--token <token>', 'API token (default $MESHLOG_TOKEN or <data-dir>/admin.token)')
    .option('--data-dir <dir>', 'where to find admin.token when no token is given (default data)');

clientOptions(
  program
    .command('query')
    .description("run a LogQL query against a server (also: 'query labels [name]', 'query series <selector...>')")
    .argument('<logql>', 'the LogQL query')
    .argument('[more...]', "with 'labels' or 'series': the label name or the selectors")
    .option('--since <duration>', 'look back this far', '1h')
    .option('--from <time>', 'start (RFC 3339 or Unix time); overrides --since')
    .option('--to <time>', 'end (RFC 3339 or Unix time; default now)')
    .option('--limit <n>', 'most lines to return', '100')
    .option('--batch <n>', 'lines per request when --limit is larger (default 1000)')
    .option('--step <duration>', 'resolution of metric queries (default: the server picks from the range)')
    .option('--interval <duration>', 'log queries: at most one line per interval')
    .option('--instant', 'evaluate a metric query at one instant (--time, default now) instead of over a range')
    .option('--time <time>', 'the instant of --instant (RFC 3339 or Unix time)')
    .option('--tail', 'follow new lines as they arrive (WebSocket) until interrupted')
    .option('--delay-for <seconds>', 'with --tail: wait this long (at most 5 s) for late lines')
    .option('--query <selector>', "with 'labels': only labels of streams matching this selector")
    .addOption(new Option('--output <format>', 'output format').choices(['raw', 'default', 'jsonl', 'table']).default('raw'))
    .addOption(new Option('--direction <d>', 'which end of the range to start from').choices(['backward', 'forward'])),
).action(async (logql: string, more: string[], opts) => {
  const { queryCommand, labelsCommand, seriesCommand } = await import('./commands/query.js');
  if (logql === 'labels') await labelsCommand(more[0], opts);
  else if (logql === 'series') await seriesCommand(more, opts);
  else if (more.length > 0) throw new CliError(`unexpected arguments after the query: ${more.join(' ')} (quote the LogQL query as one argument)`);
  else await queryCommand(logql, opts);
});

clientOptions(
  program
    .command('labels')
    .description('list label names, or the values of one label')
    .argument('[name]', 'the label whose values to list')
    .option('--since <duration>', 'look back this far', '6h')
    .option('--from <time>', 'start (RFC 3339 or Unix time); overrides --since')
    .option('--to <time>', 'end (RFC 3339 or Unix time; default now)')
    .option('--query <selector>', 'only labels of streams matching this selector'),
).action(async (name: string | undefined, opts) => {
  const { labelsCommand } = await import('./commands/query.js');
  await labelsCommand(name, opts);
});

clientOptions(
  program
    .command('series')
    .description('list the label sets of streams matching selectors')
    .argument('[selectors...]', 'stream selectors such as \'{app="web"}\' (none: every stream)')
    .option('--since <duration>', 'look back this far', '1h')
    .option('--from <time>', 'start (RFC 3339 or Unix time); overrides --since')
    .option('--to <time>', 'end (RFC 3339 or Unix time; default now)')
    .addOption(new Option('--output <format>', 'output format').choices(['default', 'jsonl']).default('default')),
).action(async (selectors: string[], opts) => {
  const { seriesCommand } = await import('./commands/query.js');
  await seriesCommand(selectors, opts);
});

program
  .command('demo')
  .description('send realistic mesh traffic (Istio/Envoy access logs, app logs, traces, incidents) to a server')
  .option('--rate <n>', 'requests per second through the mesh', int('--rate'), 50)
  .option('--duration <seconds>', 'stop after this many seconds (default: run until interrupted)', int('--duration'))
  .option('--seed <n>', 'random seed for repeatable traffic', int('--seed'))
  .option('--server <url>', 'server URL (default $MESHLOG_SERVER or http://127.0.0.1:3100)')
  .option('--token <token>', 'API token (default $MESHLOG_TOKEN or <data-dir>/admin.token)')
  .option('--data-dir <dir>', 'where to find admin.token when no token is given (default data)')
  .action(async (opts) => {
    const { demoCommand } = await import('./commands/demo.js');
    await demoCommand(opts);
  });

program
  .command('export')
  .description('write an audit bundle (records, ledger leaves, signed checkpoints, deletion records, public key) for a time range')
  .option('--from <time>', 'start (RFC 3339 or epoch ms; default: the beginning)')
  .option('--to <time>', 'end (RFC 3339 or epoch ms; default: now)')
  .requiredOption('--out <path>', 'where to write the bundle (JSONL)')
  .option('--server <url>', 'server URL (default $MESHLOG_SERVER or http://127.0.0.1:3100)')
  .option('--token <token>', 'API token (default $MESHLOG_TOKEN or <data-dir>/admin.token)')
  .option('--data-dir <dir>', 'where to find admin.token when no token is given (default data)')
  .action(async (opts) => {
    const { exportCommand } = await import('./commands/integrity.js');
    await exportCommand(opts);
  });

program
  .command('verify')
  .description('verify an audit bundle (or a live server with --server) offline against a public key; exits 1 on any finding')
  .argument('[bundle]', 'the bundle file written by meshlog export')
  .option('--public-key <file...>', 'public key(s) you trust (PEM)')
  .option('--witness <file>', 'checkpoints kept by a witness (JSONL), checked too')
  .option('--json', 'print the report as JSON')
  .option('--from <time>', 'with --server: start of the range')
  .option('--to <time>', 'with --server: end of the range')
  .option('--server <url>', 'verify a live server: fetch its export')
  .option('--token <token>', 'API token (default $MESHLOG_TOKEN or <data-dir>/admin.token)')
  .option('--data-dir <dir>', 'where to find admin.token when no token is given (default data)')
  .action(async (bundle: string | undefined, opts) => {
    const { verifyCommand } = await import('./commands/integrity.js');
    await verifyCommand(bundle, opts);
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CliError) {
    process.stderr.write(`meshlog: ${err.message}\n`);
    process.exitCode = err.exitCode;
  } else {
    process.stderr.write(`meshlog: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
}
