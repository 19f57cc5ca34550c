/**
 * A `SqlBackend` over ClickHouse's HTTP(S) interface, through the official
 * `@clickhouse/client`: a single server, or a cluster reached through any of
 * its servers (`urls`; the next one is tried when one cannot be connected).
 *
 * Invariants:
 * - parameters: servers with `{name:Type}` query parameters bind them
 *   server-side; older ones (Debian's 18.16) get them bound client-side by
 *   `sql-literals.ts`. The server's version is read once (`SELECT version()`)
 *   before the first parameterized statement. `exec` (DDL and meshlog's own
 *   `INSERT ... VALUES`) always binds client-side: parameters inside VALUES
 *   are not supported server-side by every version that has them elsewhere.
 * - every request carries its settings explicitly and only ones 18.16 knows:
 *   `output_format_json_quote_64bit_integers=1` (64-bit integers come back
 *   as strings), `wait_end_of_query=1` on reads and DDL (the server buffers
 *   the answer, so an error after the first row still arrives as an HTTP
 *   error instead of text appended to a 200), `max_execution_time` for the
 *   query timeout; with a cluster, `insert_distributed_sync=1` so an insert
 *   into a Distributed table returns only once every shard has its rows, and
 *   `insert_distributed_timeout` / `distributed_ddl_task_timeout` so a stuck
 *   shard cannot hold a request forever.
 * - a read whose caller aborts (the client went away) is also stopped on the
 *   server: it carries a `query_id`, and the abort sends `KILL QUERY WHERE
 *   query_id = ...` to the server that runs it (closing the HTTP request
 *   alone does not stop a query on servers of 18.16's age).
 * - errors leave as `StoreError`: a server or shard that cannot be reached
 *   is `unavailable` and named (shard number and address, from
 *   `system.clusters`); a timeout is `timeout`; a scan limit is `limit`.
 *   No message ever carries the password (it only travels in a header).
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { ClickHouseLogLevel, createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import { StoreError, scanLimitError, type QueryOptions, type QueryResult, type SqlBackend } from '../backend.js';
import { capabilitiesFor, type Capabilities } from '../schema/capabilities.js';
import { SqlBindError, bindParams } from './sql-literals.js';

export interface ClickHouseTls {
  /** PEM CA bundle that signs the servers' certificates (default: Node's public roots). */
  ca?: Buffer;
  /** PEM client certificate and key, for servers that require mutual TLS. */
  cert?: Buffer;
  key?: Buffer;
}

export interface ClickHouseBackendOptions {
  /** One or more servers of the same cluster (http:// or https://), tried in order. */
  urls: string[];
  username?: string;
  password?: string;
  tls?: ClickHouseTls;
  /** Timeout of inserts and DDL; queries pass their own (`QueryOptions.timeoutMs`). Default 30 s. */
  requestTimeoutMs?: number;
  /**
   * The cluster (a `remote_servers` name) the tables are distributed over.
   * Turns on synchronous Distributed inserts and names shards in errors.
   */
  cluster?: string;
}

interface Endpoint {
  /** `host:port`, for messages (never the credentials). */
  address: string;
  client: ClickHouseClient;
}

/** `host:port` of a replica, as system.clusters and ClickHouse's network errors write it, to its shard. */
type ShardMap = Map<string, { shard: number; replica: number }>;

/** Errors of the network between meshlog and one ClickHouse server: try the next server. */
const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/**
 * ClickHouse error codes meaning "part of the cluster is out of reach"
 * (names as in ClickHouse's ErrorCodes): retry later, answer 503.
 */
const UNAVAILABLE_CODES = new Set([
  32, // ATTEMPT_TO_READ_AFTER_EOF: a shard's connection closed mid-query
  198, // DNS_ERROR
  209, // SOCKET_TIMEOUT
  210, // NETWORK_ERROR: "Connection refused (host:port)"
  225, // NO_ZOOKEEPER
  242, // TABLE_IS_READ_ONLY: the replica lost its ZooKeeper session
  279, // ALL_CONNECTION_TRIES_FAILED
  319, // UNKNOWN_STATUS_OF_INSERT
  999, // KEEPER_EXCEPTION
  1000, // POCO_EXCEPTION: "Connection reset by peer" and the like on 18.16
]);
const AUTH_CODES = new Set([192, 193, 194, 516]); // UNKNOWN_USER, WRONG_PASSWORD, REQUIRED_PASSWORD, AUTHENTICATION_FAILED
const LIMIT_CODES = new Set([158, 307, 396]); // TOO_MANY_ROWS, TOO_MANY_BYTES, TOO_MANY_ROWS_OR_BYTES
const TIMEOUT_CODE = 159; // TIMEOUT_EXCEEDED (also a distributed DDL that some host did not finish)
const CANCELLED_CODE = 394; // QUERY_WAS_CANCELLED

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

export class ClickHouseBackend implements SqlBackend {
  readonly kind = 'cluster' as const;
  private readonly endpoints: Endpoint[];
  private readonly requestTimeoutMs: number;
  private readonly username: string;
  /** The endpoint that answered last; requests start there. */
  private preferred = 0;
  private capabilities: Promise<Capabilities> | undefined;
  private shards: ShardMap = new Map();
  private closed = false;

  constructor(private readonly opts: ClickHouseBackendOptions) {
    if (opts.urls.length === 0) throw new Error('ClickHouseBackend needs at least one URL');
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.username = opts.username ?? 'default';
    this.endpoints = opts.urls.map((raw) => {
      const url = new URL(raw);
      if (url.username || url.password) throw new Error(`ClickHouse URL ${url.host} must not carry credentials; use username and a password file`);
      const tls = opts.tls && url.protocol === 'https:' ? clientTls(opts.tls) : undefined;
      return {
        address: url.host,
        client: createClient({
          url: url.toString(),
          username: this.username,
          password: opts.password ?? '',
          application: 'meshlog',
          // Our own timers bound every request; this is the backstop for a silent socket.
          request_timeout: this.requestTimeoutMs + 5_000,
          keep_alive: { enabled: true },
          compression: { request: false, response: false },
          // Errors are mapped and reported by us; the client's own logging
          // would print request details to the console.
          log: { level: ClickHouseLogLevel.OFF },
          ...(tls ? { tls } : {}),
        }),
      };
    });
  }

  /** What the server can do; the first call asks it (`SELECT version()`) and, in a cluster, learns the shard layout. */
  serverCapabilities(): Promise<Capabilities> {
    this.capabilities ??= (async () => {
      const v = await this.request('query', this.requestTimeoutMs, undefined, async (client, signal) => {
        const rs = await client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow', abort_signal: signal });
        return rs.json<{ v: string }>();
      });
      const caps = capabilitiesFor(v[0]?.v ?? '0');
      if (this.opts.cluster) await this.loadShards(this.opts.cluster, caps);
      return caps;
    })().catch((err: unknown) => {
      this.capabilities = undefined; // ask again next time
      throw err;
    });
    return this.capabilities;
  }

  async exec(sql: string, opts: QueryOptions = {}): Promise<void> {
    this.assertOpen();
    const text = bind(sql, opts.params);
    const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs;
    await this.request('exec', timeoutMs, opts.signal, async (client, signal) => {
      await client.command({
        query: text,
        abort_signal: signal,
        clickhouse_settings: {
          ...this.baseSettings(timeoutMs),
          wait_end_of_query: 1,
          // A host that is down cannot run its part of an ON CLUSTER
          // statement; give up before our own request timeout.
          distributed_ddl_task_timeout: String(Math.max(1, Math.floor(timeoutMs / 1000) - 2)),
        },
      });
    });
  }

  async query<T>(sql: string, opts: QueryOptions = {}): Promise<QueryResult<T>> {
    this.assertOpen();
    const caps = await this.serverCapabilities();
    const serverSide = caps.queryParameters && opts.params !== undefined;
    const text = serverSide ? sql : bind(sql, opts.params);
    const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs;
    const started = performance.now();
    return this.request('query', timeoutMs, opts.signal, async (client, signal) => {
      const queryId = randomUUID();
      const kill = (): void => void this.kill(client, queryId);
      opts.signal?.addEventListener('abort', kill, { once: true });
      try {
        const rs = await client.query({
          query: text,
          format: 'JSONEachRow',
          query_id: queryId,
          abort_signal: signal,
          ...(serverSide ? { query_params: opts.params } : {}),
          clickhouse_settings: {
            ...this.baseSettings(timeoutMs),
            wait_end_of_query: 1,
            // The server stops the query itself; our timer (a little later) covers the network.
            max_execution_time: Math.max(1, Math.ceil(timeoutMs / 1000)),
          },
        });
        const rows = await rs.json<T>();
        const summary = parseSummary(rs.response_headers['x-clickhouse-summary']);
        return { rows, rowsRead: summary.readRows, bytesRead: summary.readBytes, elapsedMs: performance.now() - started };
      } finally {
        opts.signal?.removeEventListener('abort', kill);
      }
    });
  }

  /** Stops a query whose caller has gone, on the server that runs it. Best effort: max_execution_time bounds it anyway. */
  private async kill(client: ClickHouseClient, queryId: string): Promise<void> {
    if (this.closed) return;
    try {
      await client.command({ query: `KILL QUERY WHERE query_id = '${queryId}' ASYNC`, clickhouse_settings: this.baseSettings(this.requestTimeoutMs) });
    } catch {
      // The query finished meanwhile, or the server is out of reach (then so is the query's work).
    }
  }

  async insertRows(table: string, columns: readonly string[], rows: Buffer, settings?: Record<string, string | number>): Promise<void> {
    this.assertOpen();
    if (!TABLE_NAME.test(table)) throw new StoreError(`invalid table name ${JSON.stringify(table)}`, 'query');
    // ClickHouse 18.16 has no JSONCompactEachRow: turn positional rows into
    // keyed JSONEachRow, which every version reads. Cluster mode has no WAL,
    // so this runs once per insert, and the shards do the heavy lifting.
    const keyed = toJsonEachRow(columns, rows);
    await this.request('insert', this.requestTimeoutMs, undefined, async (client, signal) => {
      const r = await client.exec({
        query: `INSERT INTO ${table} FORMAT JSONEachRow`,
        // A fresh stream per attempt: a failed attempt has consumed the last one.
        values: Readable.from([keyed], { objectMode: false }),
        abort_signal: signal,
        clickhouse_settings: { ...this.baseSettings(this.requestTimeoutMs), ...settings },
      });
      // The response is empty; reading it to the end frees the socket.
      for await (const _chunk of r.stream as AsyncIterable<unknown>) void _chunk;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.endpoints.map((e) => e.client.close()));
  }

  private baseSettings(timeoutMs: number): ClickHouseSettings {
    return {
      output_format_json_quote_64bit_integers: 1,
      ...(this.opts.cluster
        ? {
            insert_distributed_sync: 1,
            insert_distributed_timeout: String(Math.max(1, Math.floor(timeoutMs / 1000) - 1)),
          }
        : {}),
    };
  }

  private async loadShards(cluster: string, caps: Capabilities): Promise<void> {
    const sql = 'SELECT shard_num, replica_num, host_name, host_address, port FROM system.clusters WHERE cluster = {c:String}';
    const r = await this.request('query', this.requestTimeoutMs, undefined, async (client, signal) => {
      const rs = await client.query({
        query: caps.queryParameters ? sql : bindParams(sql, { c: cluster }),
        format: 'JSONEachRow',
        abort_signal: signal,
        ...(caps.queryParameters ? { query_params: { c: cluster } } : {}),
      });
      return rs.json<{ shard_num: number; replica_num: number; host_name: string; host_address: string; port: number }>();
    });
    if (r.length === 0) {
      throw new StoreError(`ClickHouse at ${this.endpoints[this.preferred]!.address} has no cluster named ${JSON.stringify(cluster)} in its remote_servers`, 'unavailable');
    }
    const shards: ShardMap = new Map();
    for (const row of r) {
      const where = { shard: Number(row.shard_num), replica: Number(row.replica_num) };
      shards.set(`${row.host_name}:${row.port}`, where);
      shards.set(`${row.host_address}:${row.port}`, where);
    }
    this.shards = shards;
  }

  /**
   * Runs `fn` against the preferred server and, when it cannot be reached,
   * against each other one in turn. Each attempt gets its own timer.
   */
  private async request<T>(
    op: 'query' | 'exec' | 'insert',
    timeoutMs: number,
    callerSignal: AbortSignal | undefined,
    fn: (client: ClickHouseClient, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const failures: string[] = [];
    for (let n = 0; n < this.endpoints.length; n++) {
      const index = (this.preferred + n) % this.endpoints.length;
      const endpoint = this.endpoints[index]!;
      if (callerSignal?.aborted) throw new StoreError('query cancelled', 'cancelled');
      const timer = new AbortController();
      // A little after the server's own max_execution_time, so its clearer error wins the race.
      const handle = setTimeout(() => timer.abort(), timeoutMs + 1_000);
      const signal = callerSignal ? AbortSignal.any([callerSignal, timer.signal]) : timer.signal;
      try {
        const result = await fn(endpoint.client, signal);
        this.preferred = index;
        return result;
      } catch (err) {
        if (timer.signal.aborted) throw new StoreError(`ClickHouse ${op} timed out after ${timeoutMs} ms at ${endpoint.address}`, 'timeout', { cause: err });
        if (callerSignal?.aborted) throw new StoreError('query cancelled', 'cancelled', { cause: err });
        const network = networkFailure(err);
        if (network === undefined) throw this.toStoreError(err, endpoint, op);
        failures.push(`${endpoint.address} (${network})`);
      } finally {
        clearTimeout(handle);
      }
    }
    throw new StoreError(`ClickHouse is unreachable: ${failures.join(', ')}`, 'unavailable');
  }

  private toStoreError(err: unknown, endpoint: Endpoint, op: string): StoreError {
    if (err instanceof SqlBindError) return new StoreError(err.message, 'query', { cause: err });
    const { code, message } = parseServerError(err);
    if (code !== undefined && AUTH_CODES.has(code)) {
      return new StoreError(`ClickHouse at ${endpoint.address} refused the login of user ${JSON.stringify(this.username)}; check storage.clickhouse.username and the password`, 'unavailable', { cause: err });
    }
    const down = this.unreachableShards(message);
    if ((code !== undefined && UNAVAILABLE_CODES.has(code)) || (code === TIMEOUT_CODE && /unfinished hosts/.test(message))) {
      const what = down.length > 0 ? down.join(', ') : `part of the cluster behind ${endpoint.address}`;
      return new StoreError(`${what} unavailable (${unavailableReason(message)}); retry when it is back`, 'unavailable', { cause: err });
    }
    if (code === TIMEOUT_CODE) return new StoreError(`ClickHouse ${op} timed out (${firstLine(message)}); narrow the time range or add filters`, 'timeout', { cause: err });
    if (code === CANCELLED_CODE) return new StoreError('query cancelled', 'cancelled', { cause: err });
    if (code !== undefined && LIMIT_CODES.has(code)) return scanLimitError(message, err);
    return new StoreError(`ClickHouse ${op} failed at ${endpoint.address}: ${firstLine(message)}`, 'query', { cause: err });
  }

  /** The shards whose replicas an error names, e.g. "shard 2 (127.0.0.1:9000)". */
  private unreachableShards(message: string): string[] {
    const addresses = new Set([...message.matchAll(/\((\[?[A-Za-z0-9_.:-]+\]?:\d+)\)/g)].map((m) => m[1]!));
    const out: string[] = [];
    for (const address of addresses) {
      const where = this.shards.get(address);
      out.push(where ? `shard ${where.shard} (replica ${where.replica}, ${address})` : `ClickHouse server ${address}`);
    }
    return out.length > 0 ? [`${this.opts.cluster ? `cluster ${this.opts.cluster}: ` : ''}${out.join(', ')}`] : [];
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('the store is closed', 'unavailable');
  }
}

function bind(sql: string, params: Record<string, unknown> | undefined): string {
  if (!params) return sql;
  try {
    return bindParams(sql, params);
  } catch (err) {
    throw new StoreError((err as Error).message, 'query', { cause: err });
  }
}

function clientTls(tls: ClickHouseTls): { ca_cert: Buffer } | { ca_cert: Buffer; cert: Buffer; key: Buffer } {
  const ca = tls.ca ?? Buffer.from(rootCertificates.join('\n'));
  return tls.cert && tls.key ? { ca_cert: ca, cert: tls.cert, key: tls.key } : { ca_cert: ca };
}

/** The reason a request never reached ClickHouse (or lost its connection), or undefined for any other error. */
function networkFailure(err: unknown): string | undefined {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code && CONNECT_ERRORS.has(code)) return code === 'ECONNREFUSED' ? 'connection refused' : code;
  if (code && (code.startsWith('ERR_TLS') || code.startsWith('CERT_') || code.includes('SELF_SIGNED') || code.startsWith('UNABLE_TO_') || code.startsWith('ERR_SSL'))) {
    return `TLS: ${code}`;
  }
  if (typeof e.message === 'string' && /socket hang up/i.test(e.message)) return 'connection closed';
  return undefined;
}

/**
 * A ClickHouse error's code and message, from either text format:
 * 18.16 `Code: 279, e.displayText() = DB::NetException: <msg>, e.what() = DB::NetException`,
 * newer `Code: 279. DB::NetException: <msg>. (ALL_CONNECTION_TRIES_FAILED) (version ...)`.
 * `@clickhouse/client` parses only the newer one (into `ClickHouseError`).
 */
export function parseServerError(err: unknown): { code: number | undefined; message: string } {
  const e = err as { code?: unknown; type?: unknown; message?: unknown };
  const raw = typeof e.message === 'string' ? e.message : String(err);
  if (typeof e.type === 'string' && typeof e.code === 'string' && /^\d+$/.test(e.code)) return { code: Number(e.code), message: raw.trim() };
  const m = /^\s*Code: (\d+)[.,]\s*(?:e\.displayText\(\) = )?(?:DB::\w*Exception: )?([\s\S]*?)(?:, e\.what\(\) = DB::\w+\s*)?$/.exec(raw);
  if (m) return { code: Number(m[1]), message: m[2]!.trim() };
  return { code: undefined, message: raw.trim() };
}

/** A short reason from ClickHouse's nested network errors ("All connection tries failed. Log: ... Connection refused ..."). */
function unavailableReason(message: string): string {
  if (/Connection refused/i.test(message)) return 'connection refused';
  if (/Connection reset/i.test(message)) return 'connection reset';
  if (/unfinished hosts/.test(message)) return 'a host did not run the distributed DDL in time';
  if (/timeout|timed out/i.test(message)) return 'timed out';
  return firstLine(message).replace(/[.:]?\s*Log:\s*$/, '');
}

function firstLine(s: string): string {
  return (s.split('\n')[0] ?? s).trim();
}

function parseSummary(header: string | string[] | undefined): { readRows: number; readBytes: number } {
  if (typeof header !== 'string') return { readRows: 0, readBytes: 0 };
  try {
    const s = JSON.parse(header) as { read_rows?: string; read_bytes?: string };
    return { readRows: Number(s.read_rows ?? 0), readBytes: Number(s.read_bytes ?? 0) };
  } catch {
    return { readRows: 0, readBytes: 0 };
  }
}

/** JSONCompactEachRow lines (values in `columns` order) to JSONEachRow lines. */
export function toJsonEachRow(columns: readonly string[], rows: Buffer): Buffer {
  const out: string[] = [];
  for (const line of rows.toString('utf8').split('\n')) {
    if (line === '') continue;
    const values = JSON.parse(line) as unknown[];
    const row: Record<string, unknown> = {};
    columns.forEach((c, i) => (row[c] = values[i]));
    out.push(JSON.stringify(row));
  }
  return Buffer.from(out.join('\n'));
}
