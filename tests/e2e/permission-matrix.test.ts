/**
 * The permission matrix: every role × every HTTP endpoint × own tenant /
 * other tenant (and no credentials at all), over a real socket, generated
 * from the server's route table (`RunningServer.routes`):
 *
 * - an endpoint without a row in SAMPLES below fails the test, so a new
 *   endpoint cannot ship without its rule being tested;
 * - a role without the route's permission gets 403 naming it; a role with
 *   it is never refused by the route rule (it may still get 400, 404, 409,
 *   or a documented service-level refusal such as self-approval);
 * - a principal of the other tenant never sees anything of this tenant:
 *   a marker planted in every kind of object here (log line, span, policy
 *   selector, hold reason, approval summary) never appears in its answers;
 * - every request made here leaves exactly one audit record, found by the
 *   X-Request-Id the answer carried, in the audit trail of the tenant that
 *   made it (the operator tenant for anonymous calls).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '@meshlog/core';
import { PERMISSIONS, ROLES, ROLE_PERMISSIONS, TokenStore, UserStore, loadServerConfig, serverRegistry, startServer, type Role, type RouteRule, type RunningServer } from '@meshlog/server';
import { freePort, tempDir } from '../helpers/server-process.js';
import { otlpJsonLogs, otlpJsonTrace } from '../helpers/otlp-payloads.js';

const MARKER = `mx${randomUUID().replaceAll('-', '').slice(0, 12)}`;
const TRACE_ID = randomUUID().replaceAll('-', '');
const OWN = 'default';
const OTHER = 'other';

let server: RunningServer;
let url: string;
let fixtureAdmin: string;
const tokens: Record<string, Record<Role, string>> = { [OWN]: {} as Record<Role, string>, [OTHER]: {} as Record<Role, string> };
const fixtures = { policyId: '', holdId: '', approvalId: '', tokenId: '', grantUserId: '', disableUserId: '', resetUserId: '' };
const MATRIX_PASSWORD = 'matrix passphrase long enough';

interface Sample {
  path: string;
  body?: string;
  headers?: Record<string, string>;
}
type SampleOf = () => Sample;

const json = (v: unknown): Sample['body'] => JSON.stringify(v);
const esNamed = (kind: string): Record<string, SampleOf> =>
  Object.fromEntries(
    ['PUT', 'POST', 'GET', 'HEAD'].map((m) => [`${m} /${kind}/:name`, () => ({ path: `/${kind}/matrix`, ...(m === 'PUT' || m === 'POST' ? { body: '{}', headers: { 'content-type': 'application/json' } } : {}) })]),
  );
const bulk = `{"index":{"_index":"matrix"}}\n{"message":"matrix bulk"}\n`;
/** Loki's API takes POST parameters form-encoded. */
const lokiForm = (path: string, params: Record<string, string>): Sample => ({ path, body: new URLSearchParams(params).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });

/** One sample request per route: `METHOD /route` → path (params filled) and body. */
/** A route's row: `METHOD url`, or `METHOD url (public)` for a public route sharing its path with a guarded one. */
function keyOf(r: { method: string; url: string; access: RouteRule['access'] }): string {
  const key = `${r.method} ${r.url}`;
  return 'public' in r.access && SAMPLES[`${key} (public)`] ? `${key} (public)` : key;
}

const SAMPLES: Record<string, SampleOf> = {
  'GET /ready': () => ({ path: '/ready' }),
  // The web UI's files (public: they hold no data; `npm test` builds them first). A browser's `GET /`
  // (Accept: text/html) reaches the UI's redirect, the public route of the same path as Elasticsearch's.
  'GET / (public)': () => ({ path: '/', headers: { accept: 'text/html' } }),
  'GET /ui': () => ({ path: '/ui' }),
  'GET /ui/*': () => ({ path: '/ui/explore' }),
  'GET /metrics': () => ({ path: '/metrics' }),
  'POST /v1/logs': () => ({ path: '/v1/logs', body: otlpJsonLogs(['matrix ingest']), headers: { 'content-type': 'application/json' } }),
  'POST /v1/traces': () => ({ path: '/v1/traces', body: otlpJsonTrace(randomUUID().replaceAll('-', '')).body, headers: { 'content-type': 'application/json' } }),
  'POST /services/collector': () => ({ path: '/services/collector', body: '{"event":"matrix hec"}' }),
  'POST /services/collector/event': () => ({ path: '/services/collector/event', body: '{"event":"matrix hec"}' }),
  'POST /services/collector/event/1.0': () => ({ path: '/services/collector/event/1.0', body: '{"event":"matrix hec"}' }),
  'POST /services/collector/raw': () => ({ path: '/services/collector/raw', body: 'matrix raw' }),
  'POST /services/collector/raw/1.0': () => ({ path: '/services/collector/raw/1.0', body: 'matrix raw' }),
  'GET /services/collector/health': () => ({ path: '/services/collector/health' }),
  'GET /services/collector/health/1.0': () => ({ path: '/services/collector/health/1.0' }),
  'POST /services/collector/ack': () => ({ path: '/services/collector/ack', body: '{"acks":[0]}' }),
  'POST /api/v2/logs': () => ({ path: '/api/v2/logs', body: '[{"message":"matrix dd"}]', headers: { 'content-type': 'application/json' } }),
  'POST /v1/input': () => ({ path: '/v1/input', body: '[{"message":"matrix dd"}]', headers: { 'content-type': 'application/json' } }),
  'POST /api/v2/spans': () => ({
    path: '/api/v2/spans',
    body: json([{ traceId: '0123456789abcdef', id: '0123456789abcdef', name: 'matrix', timestamp: Date.now() * 1000, duration: 5, localEndpoint: { serviceName: 'matrix' } }]),
    headers: { 'content-type': 'application/json' },
  }),
  'POST /loki/api/v1/push': () => ({
    path: '/loki/api/v1/push',
    body: json({ streams: [{ stream: { app: 'matrix' }, values: [[String(Date.now() * 1e6), 'matrix loki']] }] }),
    headers: { 'content-type': 'application/json' },
  }),
  'POST /_bulk': () => ({ path: '/_bulk', body: bulk, headers: { 'content-type': 'application/x-ndjson' } }),
  'PUT /_bulk': () => ({ path: '/_bulk', body: bulk, headers: { 'content-type': 'application/x-ndjson' } }),
  'POST /:index/_bulk': () => ({ path: '/matrix/_bulk', body: bulk, headers: { 'content-type': 'application/x-ndjson' } }),
  'PUT /:index/_bulk': () => ({ path: '/matrix/_bulk', body: bulk, headers: { 'content-type': 'application/x-ndjson' } }),
  // `/` is claimed by Elasticsearch clients only (by their Accept header); a browser falls through to the UI.
  'GET /': () => ({ path: '/', headers: { accept: 'application/json' } }),
  'HEAD /': () => ({ path: '/', headers: { accept: 'application/json' } }),
  'GET /_license': () => ({ path: '/_license' }),
  'GET /_xpack': () => ({ path: '/_xpack' }),
  'GET /_cluster/health': () => ({ path: '/_cluster/health' }),
  ...esNamed('_index_template'),
  ...esNamed('_template'),
  ...esNamed('_component_template'),
  ...esNamed('_ilm/policy'),
  ...esNamed('_ingest/pipeline'),
  ...esNamed('_data_stream'),
  'GET /loki/api/v1/query_range': () => ({ path: `/loki/api/v1/query_range?query=${encodeURIComponent('{service_name="matrix-svc"}')}&since=1h` }),
  'POST /loki/api/v1/query_range': () => lokiForm('/loki/api/v1/query_range', { query: '{service_name="matrix-svc"}', since: '1h' }),
  'GET /loki/api/v1/query': () => ({ path: `/loki/api/v1/query?query=${encodeURIComponent('sum by (service_name) (count_over_time({service_name="matrix-svc"}[1h]))')}` }),
  'POST /loki/api/v1/query': () => lokiForm('/loki/api/v1/query', { query: 'count_over_time({service_name="matrix-svc"} |= "matrix" [1h])' }),
  'GET /loki/api/v1/labels': () => ({ path: '/loki/api/v1/labels' }),
  'POST /loki/api/v1/labels': () => lokiForm('/loki/api/v1/labels', { query: '{service_name="matrix-svc"}' }),
  'GET /loki/api/v1/label/:name/values': () => ({ path: '/loki/api/v1/label/service_name/values' }),
  'POST /loki/api/v1/label/:name/values': () => lokiForm('/loki/api/v1/label/service_name/values', { since: '1h' }),
  'GET /loki/api/v1/series': () => ({ path: `/loki/api/v1/series?match[]=${encodeURIComponent('{service_name=~"matrix.*"}')}` }),
  'POST /loki/api/v1/series': () => lokiForm('/loki/api/v1/series', { 'match[]': '{service_name=~"matrix.*"}' }),
  'GET /loki/api/v1/index/stats': () => ({ path: `/loki/api/v1/index/stats?query=${encodeURIComponent('{service_name="matrix-svc"}')}` }),
  'POST /loki/api/v1/index/stats': () => lokiForm('/loki/api/v1/index/stats', { query: '{service_name="matrix-svc"}' }),
  'GET /loki/api/v1/index/volume': () => ({ path: `/loki/api/v1/index/volume?query=${encodeURIComponent('{service_name=~"matrix.*"}')}` }),
  'POST /loki/api/v1/index/volume': () => lokiForm('/loki/api/v1/index/volume', { query: '{service_name=~"matrix.*"}' }),
  'GET /loki/api/v1/index/volume_range': () => ({ path: `/loki/api/v1/index/volume_range?query=${encodeURIComponent('{service_name=~"matrix.*"}')}&step=60` }),
  'POST /loki/api/v1/index/volume_range': () => lokiForm('/loki/api/v1/index/volume_range', { query: '{service_name=~"matrix.*"}', step: '60' }),
  'GET /loki/api/v1/format_query': () => ({ path: `/loki/api/v1/format_query?query=${encodeURIComponent('{a="b"}')}` }),
  'POST /loki/api/v1/format_query': () => lokiForm('/loki/api/v1/format_query', { query: '{a="b"}' }),
  'GET /loki/api/v1/status/buildinfo': () => ({ path: '/loki/api/v1/status/buildinfo' }),
  // A plain GET (no WebSocket upgrade): refused with 400 once the route rule let it through.
  'GET /loki/api/v1/tail': () => ({ path: `/loki/api/v1/tail?query=${encodeURIComponent('{service_name="matrix-svc"}')}` }),
  'GET /api/v2/trace/:traceId': () => ({ path: `/api/v2/trace/${TRACE_ID}` }),
  'GET /api/v1/traces/:traceId': () => ({ path: `/api/v1/traces/${TRACE_ID}?logs=true` }),
  'GET /api/v1/audit/export': () => ({ path: '/api/v1/audit/export?since=1h' }),
  'GET /api/v1/integrity/checkpoints': () => ({ path: '/api/v1/integrity/checkpoints' }),
  'GET /api/v1/integrity/proof/inclusion': () => ({ path: '/api/v1/integrity/proof/inclusion?table=logs&seq=1&row=0' }),
  'GET /api/v1/integrity/proof/consistency': () => ({ path: '/api/v1/integrity/proof/consistency?from=1&to=1' }),
  'GET /api/v1/integrity/export': () => ({ path: '/api/v1/integrity/export' }),
  'GET /api/v1/retention/policies': () => ({ path: '/api/v1/retention/policies' }),
  'PUT /api/v1/retention/policies': () => ({ path: '/api/v1/retention/policies', body: json({ selector: '{app="matrix-long"}', keep_days: 365 }) }),
  'DELETE /api/v1/retention/policies/:id': () => ({ path: `/api/v1/retention/policies/${fixtures.policyId}` }),
  'GET /api/v1/retention/holds': () => ({ path: '/api/v1/retention/holds' }),
  'POST /api/v1/retention/holds': () => ({ path: '/api/v1/retention/holds', body: json({ selector: '{app="matrix"}', reason: 'matrix hold' }) }),
  'DELETE /api/v1/retention/holds/:id': () => ({ path: `/api/v1/retention/holds/${fixtures.holdId}` }),
  'POST /api/v1/retention/purge': () => ({ path: '/api/v1/retention/purge', body: json({ selector: '{app="matrix"}', from: '2020-01-01T00:00:00Z', to: '2020-01-02T00:00:00Z', reason: 'matrix' }) }),
  'POST /api/v1/retention/enforce': () => ({ path: '/api/v1/retention/enforce' }),
  'GET /api/v1/retention/deletions': () => ({ path: '/api/v1/retention/deletions' }),
  'GET /api/v1/retention/changes': () => ({ path: '/api/v1/retention/changes' }),
  'GET /api/v1/keys': () => ({ path: '/api/v1/keys' }),
  'POST /api/v1/keys/storage/rotate': () => ({ path: '/api/v1/keys/storage/rotate' }),
  'GET /api/v1/approvals': () => ({ path: '/api/v1/approvals' }),
  'GET /api/v1/approvals/:id': () => ({ path: `/api/v1/approvals/${fixtures.approvalId}` }),
  'POST /api/v1/approvals/:id/approve': () => ({ path: `/api/v1/approvals/${fixtures.approvalId}/approve` }),
  'POST /api/v1/approvals/:id/reject': () => ({ path: `/api/v1/approvals/${fixtures.approvalId}/reject` }),
  // Identities: tokens (security_admin is the one role both token admins may grant), users, sessions.
  'GET /api/v1/whoami': () => ({ path: '/api/v1/whoami' }),
  'GET /api/v1/tokens': () => ({ path: '/api/v1/tokens' }),
  'POST /api/v1/tokens': () => ({ path: '/api/v1/tokens', body: json({ description: 'matrix', roles: ['security_admin'], expires_in: '1h' }) }),
  'DELETE /api/v1/tokens/:id': () => ({ path: `/api/v1/tokens/${fixtures.tokenId}` }),
  'GET /api/v1/users': () => ({ path: '/api/v1/users' }),
  'POST /api/v1/users': () => ({ path: '/api/v1/users', body: json({ username: `matrix-${randomUUID().slice(0, 8)}`, password: MATRIX_PASSWORD, roles: ['security_admin'] }) }),
  'PUT /api/v1/users/:id/roles': () => ({ path: `/api/v1/users/${fixtures.grantUserId}/roles`, body: json({ roles: ['security_admin'] }) }),
  'DELETE /api/v1/users/:id': () => ({ path: `/api/v1/users/${fixtures.disableUserId}` }),
  'POST /api/v1/users/:id/password': () => ({ path: `/api/v1/users/${fixtures.resetUserId}/password`, body: json({ password: MATRIX_PASSWORD }) }),
  // Public: a real sign-in of a fixture user (no credentials needed, so it must succeed).
  'POST /api/v1/auth/login': () => ({ path: '/api/v1/auth/login', body: json({ username: 'matrix-signin', password: MATRIX_PASSWORD }) }),
  // Session-only actions: a token caller is allowed by the rule and gets 400 (they are for UI sessions).
  'POST /api/v1/auth/logout': () => ({ path: '/api/v1/auth/logout' }),
  'POST /api/v1/auth/tenant': () => ({ path: '/api/v1/auth/tenant', body: json({ tenant: OWN }) }),
  'POST /api/v1/auth/password': () => ({ path: '/api/v1/auth/password', body: json({ current_password: 'x', new_password: MATRIX_PASSWORD }) }),
};

/**
 * Refusals by a service, not by the route rule, that an allowed role may get
 * (documented in docs/security.md): deciding a request needs the action's
 * own permission too; storage keys are the operator tenant's only.
 */
const SERVICE_REFUSALS = [
  /storage keys belong to the server: only principals of the operator tenant/,/approving .* needs the "approvals:decide" and "[a-z:_]+" permissions/, /rejecting .* needs the "approvals:decide" and "[a-z:_]+" permissions/];

interface Made {
  requestId: string;
  tenant: string;
}
const made: Made[] = [];

async function call(method: string, sample: Sample, token: string | undefined, tenantOfCaller: string): Promise<{ status: number; text: string }> {
  const r = await fetch(`${url}${sample.path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(sample.body !== undefined ? { 'content-type': 'application/json' } : {}), ...sample.headers },
    ...(sample.body !== undefined ? { body: sample.body } : {}),
  });
  const text = method === 'HEAD' ? '' : await r.text();
  const requestId = r.headers.get('x-request-id');
  assert.ok(requestId, `${method} ${sample.path}: no X-Request-Id`);
  made.push({ requestId, tenant: tenantOfCaller });
  return { status: r.status, text };
}

async function fixture(method: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const r = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${fixtureAdmin}`, 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  made.push({ requestId: r.headers.get('x-request-id')!, tenant: OWN });
  const j = (await r.json()) as Record<string, unknown>;
  assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(j)}`);
  return j;
}

before(async () => {
  const dataDir = tempDir('meshlog-matrix-');
  const store = new TokenStore(dataDir);
  fixtureAdmin = store.create(OWN, ['admin']);
  for (const tenant of [OWN, OTHER]) for (const role of ROLES) tokens[tenant]![role] = store.create(tenant, [role]);
  // Users of the own tenant, as security_admins so that both roles with identities:write may manage them.
  const users = new UserStore(dataDir);
  const user = (username: string): string => users.addSync({ username, password: MATRIX_PASSWORD, grants: [{ tenant: OWN, roles: ['security_admin'] }], createdBy: 'matrix' }).id;
  user('matrix-signin');
  fixtures.grantUserId = user('matrix-grant');
  fixtures.disableUserId = user('matrix-disable');
  fixtures.resetUserId = user('matrix-reset');
  const file = join(dataDir, 'meshlog.yaml');
  // The matrix makes hundreds of calls in seconds, many refused: lift the rate limits it would trip.
  writeFileSync(file, ['limits:', '  rate:', '    auth_failures_per_address: { per_second: 1000, burst: 100000 }', ''].join('\n'));
  const port = await freePort();
  const config = loadServerConfig(file, { dataDir, httpPort: port, grpcPort: 0, syslogPort: 0, syslogTlsPort: 0, forwardPort: 0 }, serverRegistry);
  server = await startServer(config, createLogger({ write: () => undefined }));
  url = server.httpUrl!;

  // Something of every kind in the own tenant, each carrying the marker.
  await fixture('POST', '/v1/logs', otlpJsonLogs([`matrix line ${MARKER}`], { service: 'matrix-svc' }));
  await fixture('POST', '/v1/traces', otlpJsonTrace(TRACE_ID, { service: `matrix-svc-${MARKER}` }).body);
  fixtures.policyId = ((await fixture('PUT', '/api/v1/retention/policies', { selector: `{app="${MARKER}"}`, keep_days: 400 })).data as { id: string }).id;
  fixtures.holdId = ((await fixture('POST', '/api/v1/retention/holds', { selector: `{app="${MARKER}"}`, reason: `hold ${MARKER}` })).data as { id: string }).id;
  fixtures.approvalId = ((await fixture('PUT', '/api/v1/retention/policies', { selector: `{app="${MARKER}-short"}`, keep_days: 1 })).data as { id: string }).id;
  fixtures.tokenId = ((await fixture('POST', '/api/v1/tokens', { description: `matrix ${MARKER}`, roles: ['viewer'] })).data as { id: string }).id;
});

after(async () => {
  await server?.stop();
});

test('every endpoint has a row in the matrix', () => {
  const missing = server.routes.map(keyOf).filter((k) => !SAMPLES[k]);
  assert.deepEqual(missing, [], 'endpoints without a permission-matrix row: add them to SAMPLES');
  const stale = Object.keys(SAMPLES).filter((k) => !server.routes.some((r) => keyOf(r) === k));
  assert.deepEqual(stale, [], 'rows for endpoints that no longer exist');
});

test('every role × every endpoint × own and other tenant, and no credentials', async () => {
  const failures: string[] = [];
  for (const route of server.routes as RouteRule[]) {
    const sample = SAMPLES[keyOf(route)];
    if (!sample) continue;
    const label = `${route.method} ${route.url}`;
    // No credentials: only public routes answer.
    const anon = await call(route.method, sample(), undefined, OWN);
    if ('public' in route.access ? anon.status >= 400 : anon.status !== 401) failures.push(`${label} without credentials: ${anon.status}`);
    if ('public' in route.access) continue;
    const permission = route.access.permission;
    for (const tenant of [OWN, OTHER]) {
      for (const role of ROLES) {
        const allowed = ROLE_PERMISSIONS[role].includes(permission);
        const r = await call(route.method, sample(), tokens[tenant]![role], tenant);
        const where = `${label} as ${role} of ${tenant}`;
        if (r.status === 401) failures.push(`${where}: 401 ${r.text.slice(0, 200)}`);
        if (!allowed) {
          if (r.status !== 403) failures.push(`${where}: expected 403 (lacks ${permission}), got ${r.status}`);
          else if (r.text.startsWith('{"status":"error"') && !r.text.includes(`needs the \\"${permission}\\" permission`)) failures.push(`${where}: the 403 does not name ${permission}: ${r.text}`);
        } else if (r.status === 403 && !SERVICE_REFUSALS.some((re) => re.test(r.text))) {
          failures.push(`${where}: allowed by ${permission}, refused: ${r.text.slice(0, 300)}`);
        }
        if (tenant === OTHER && r.text.includes(MARKER)) failures.push(`${where}: sees the own tenant's data: ${r.text.slice(0, 300)}`);
      }
    }
  }
  assert.deepEqual(failures, []);
  // Sanity: the marker is reachable in the own tenant, so its absence elsewhere means something.
  const own = await call('GET', SAMPLES['GET /loki/api/v1/query_range']!(), tokens[OWN]!.analyst, OWN);
  assert.ok(own.text.includes(MARKER));
});

test('personal data is masked for viewers and shown to analysts', async () => {
  await fixture('POST', '/v1/logs', otlpJsonLogs([`signup ana@example.com from 10.1.2.3 ${MARKER}-pii`], { service: 'matrix-pii' }));
  const q = { path: `/loki/api/v1/query_range?query=${encodeURIComponent('{service_name="matrix-pii"}')}&since=1h` };
  const viewer = await call('GET', q, tokens[OWN]!.viewer, OWN);
  assert.match(viewer.text, /signup \[masked:email\] from \[masked:ipv4\]/);
  const analyst = await call('GET', q, tokens[OWN]!.analyst, OWN);
  assert.match(analyst.text, /signup ana@example\.com from 10\.1\.2\.3/);
});

test('the audit trail is readable by auditors and admins only, in their own tenant', async () => {
  const q = { path: `/loki/api/v1/query_range?query=${encodeURIComponent('{meshlog_stream="audit"}')}&since=1h&limit=5` };
  for (const role of ROLES) {
    const r = await call('GET', q, tokens[OWN]![role], OWN);
    const may = ROLE_PERMISSIONS[role].includes('logs:read') && ROLE_PERMISSIONS[role].includes('audit:read');
    assert.equal(r.status, may ? 200 : 403, `${role}: ${r.text.slice(0, 200)}`);
  }
  assert.ok(Object.keys(PERMISSIONS).includes('audit:read'));
});

test('every request above left exactly one audit record', async () => {
  const seen = new Map<string, number>();
  for (const [tenant, token] of [
    [OWN, fixtureAdmin],
    [OTHER, tokens[OTHER]!.admin],
  ] as const) {
    const r = await fetch(`${url}/api/v1/audit/export?since=1h`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200);
    for (const line of (await r.text()).split('\n')) {
      if (!line) continue;
      const e = JSON.parse(line) as { request_id: string; tenant: string };
      assert.equal(e.tenant, tenant, 'an export holds its own tenant only');
      seen.set(e.request_id, (seen.get(e.request_id) ?? 0) + 1);
    }
  }
  assert.ok(made.length > 500, `the matrix made ${made.length} requests`);
  const wrong = made.filter((m) => seen.get(m.requestId) !== 1).map((m) => `${m.requestId}: ${seen.get(m.requestId) ?? 0}`);
  assert.deepEqual(wrong, []);
});
