/**
 * The demo mesh: an online shop of ~20 services in a few Kubernetes
 * namespaces behind an Istio ingress gateway, and the fixed call graph a
 * request walks.
 *
 * Invariants: the graph is acyclic (a test walks it); every endpoint a call
 * names exists; services without a sidecar (`accessLog: null`) are the data
 * stores, reached only through database calls. Pod names and addresses
 * derive from the seed alone, so a seed names one cluster.
 *
 * Shape of the graph (ingress → frontend → ...):
 *
 *   istio-ingressgateway → frontend ─┬─ catalog ── redis, postgres
 *                                    ├─ search ── catalog
 *                                    ├─ reviews ── postgres
 *                                    ├─ recommendation ── catalog
 *                                    ├─ ad, currency ── redis
 *                                    ├─ inventory ── postgres
 *                                    ├─ cart ── redis
 *                                    ├─ auth ─┬─ user ── postgres
 *                                    │        └─ redis
 *                                    ├─ user
 *                                    └─ checkout ─┬─ cart, currency, inventory
 *                                                 ├─ shipping ── postgres
 *                                                 ├─ payments ─┬─ fraud-detection ── redis
 *                                                 │            ├─ ledger ── postgres
 *                                                 │            └─ postgres
 *                                                 ├─ email
 *                                                 └─ notification ── user
 */

import type { DemoResource, OtlpKeyValue } from './otlp-json.js';
import { stringAttr } from './otlp-json.js';
import { SeededRandom } from './random.js';

export type Language = 'go' | 'node' | 'java' | 'python' | 'envoy' | 'redis' | 'postgres';
/** How a container writes its own log lines (see app-log-formats.ts). */
export type AppLogStyle = 'zap' | 'pino' | 'logfmt' | 'spring' | 'python' | 'structlog' | 'redis' | 'postgres' | 'none';
/** The sidecar's access log encoding, Istio's `accessLogEncoding`. */
export type AccessLogEncoding = 'istio-text' | 'istio-json';
export type WireProtocol = 'http' | 'grpc' | 'redis' | 'postgresql';

export interface ServiceSpec {
  readonly name: string;
  readonly namespace: string;
  readonly version: string;
  readonly language: Language;
  readonly appLogStyle: AppLogStyle;
  /** `null`: no sidecar (the data stores run outside the mesh's injection). */
  readonly accessLog: AccessLogEncoding | null;
  readonly protocol: WireProtocol;
  /** The Service port callers dial. */
  readonly port: number;
  /** The container port the sidecar forwards to. */
  readonly targetPort: number;
  readonly replicas: number;
  readonly workloadKind: 'Deployment' | 'StatefulSet';
  /** Fully qualified gRPC service, for `protocol: 'grpc'`. */
  readonly grpcService?: string;
}

/** An error the service itself decides to return (not an infrastructure fault). */
export interface BusinessError {
  readonly status: number;
  /** Probability per request outside incidents. */
  readonly p: number;
  /** Key into the app log catalog's error messages. */
  readonly reason: string;
}

export interface ServiceCall {
  readonly kind: 'service';
  readonly endpoint: string;
  /** Probability the call is made at all (default 1). */
  readonly p?: number;
  /** A failure is logged and rendered around, not propagated. */
  readonly optional?: boolean;
  /** Route timeout (VirtualService `timeout`); past it the client sidecar answers 504 UT. */
  readonly timeoutMs?: number;
  /** Skipped once the handler has decided to fail (e.g. no shipment for a declined card). */
  readonly skipOnError?: boolean;
}

export interface DatabaseCall {
  readonly kind: 'db';
  readonly system: 'postgresql' | 'redis';
  /** `db.operation.name`, e.g. SELECT or GET. */
  readonly operation: string;
  /** Table or key prefix, for span names (`SELECT products`). */
  readonly target: string;
  /** The statement; `{name}` is filled from the request's values. */
  readonly statement: string;
  readonly p?: number;
  readonly skipOnError?: boolean;
  /** A cache miss: the handler logs it before falling through to the database. */
  readonly cacheMiss?: boolean;
}

export type CallSpec = ServiceCall | DatabaseCall;

export interface EndpointSpec {
  readonly id: string;
  readonly service: string;
  readonly method: string;
  /** Request path; `{name}` is filled from the request's values. */
  readonly path: string;
  /** The route template (`http.route`), or the gRPC method for gRPC. */
  readonly route: string;
  /** Median of the handler's own work, in ms (long-tailed around it). */
  readonly selfMs: number;
  readonly requestBytes: readonly [number, number];
  readonly responseBytes: readonly [number, number];
  readonly calls: readonly CallSpec[];
  readonly errors?: readonly BusinessError[];
}

const svc = (s: Omit<ServiceSpec, 'workloadKind' | 'targetPort'> & Partial<Pick<ServiceSpec, 'workloadKind' | 'targetPort'>>): ServiceSpec => ({
  workloadKind: 'Deployment',
  targetPort: s.port,
  ...s,
});

/**
 * About a quarter of the sidecars (auth, catalog, ad, inventory,
 * fraud-detection) log Istio's JSON encoding; the rest the default TEXT one,
 * as in a mesh where a few namespaces or workloads override the encoding
 * through the Telemetry API.
 */
export const SERVICES: readonly ServiceSpec[] = [
  svc({ name: 'istio-ingressgateway', namespace: 'istio-system', version: '1.22.3', language: 'envoy', appLogStyle: 'none', accessLog: 'istio-text', protocol: 'http', port: 443, targetPort: 8443, replicas: 2 }),
  svc({ name: 'frontend', namespace: 'web', version: '2.14.0', language: 'node', appLogStyle: 'pino', accessLog: 'istio-text', protocol: 'http', port: 80, targetPort: 8080, replicas: 3 }),
  svc({ name: 'auth', namespace: 'identity', version: '1.9.2', language: 'go', appLogStyle: 'zap', accessLog: 'istio-json', protocol: 'http', port: 8080, replicas: 2 }),
  svc({ name: 'user', namespace: 'identity', version: '1.6.0', language: 'go', appLogStyle: 'logfmt', accessLog: 'istio-text', protocol: 'http', port: 8080, replicas: 2 }),
  svc({ name: 'catalog', namespace: 'shop', version: '3.2.1', language: 'go', appLogStyle: 'zap', accessLog: 'istio-json', protocol: 'http', port: 8080, replicas: 3 }),
  svc({ name: 'search', namespace: 'shop', version: '1.4.7', language: 'java', appLogStyle: 'spring', accessLog: 'istio-text', protocol: 'http', port: 8080, replicas: 2 }),
  svc({ name: 'reviews', namespace: 'shop', version: '2.0.3', language: 'java', appLogStyle: 'spring', accessLog: 'istio-text', protocol: 'http', port: 9080, replicas: 2 }),
  svc({ name: 'recommendation', namespace: 'shop', version: '0.18.0', language: 'python', appLogStyle: 'python', accessLog: 'istio-text', protocol: 'grpc', port: 8080, replicas: 2, grpcService: 'meshshop.recommendation.v1.RecommendationService' }),
  svc({ name: 'ad', namespace: 'shop', version: '1.1.5', language: 'java', appLogStyle: 'spring', accessLog: 'istio-json', protocol: 'grpc', port: 9555, replicas: 2, grpcService: 'meshshop.ad.v1.AdService' }),
  svc({ name: 'currency', namespace: 'shop', version: '1.3.0', language: 'node', appLogStyle: 'pino', accessLog: 'istio-text', protocol: 'grpc', port: 7000, replicas: 2, grpcService: 'meshshop.currency.v1.CurrencyService' }),
  svc({ name: 'cart', namespace: 'shop', version: '2.5.4', language: 'go', appLogStyle: 'logfmt', accessLog: 'istio-text', protocol: 'http', port: 8080, replicas: 2 }),
  svc({ name: 'checkout', namespace: 'shop', version: '4.1.0', language: 'go', appLogStyle: 'zap', accessLog: 'istio-text', protocol: 'http', port: 8080, replicas: 2 }),
  svc({ name: 'shipping', namespace: 'shop', version: '1.7.2', language: 'go', appLogStyle: 'logfmt', accessLog: 'istio-text', protocol: 'grpc', port: 50051, replicas: 2, grpcService: 'meshshop.shipping.v1.ShippingService' }),
  svc({ name: 'inventory', namespace: 'shop', version: '2.2.0', language: 'java', appLogStyle: 'spring', accessLog: 'istio-json', protocol: 'http', port: 8080, replicas: 2 }),
  svc({ name: 'payments', namespace: 'payments', version: '5.0.2', language: 'go', appLogStyle: 'zap', accessLog: 'istio-text', protocol: 'http', port: 8080, replicas: 3 }),
  svc({ name: 'fraud-detection', namespace: 'payments', version: '0.9.4', language: 'python', appLogStyle: 'structlog', accessLog: 'istio-json', protocol: 'http', port: 8080, replicas: 2 }),
  svc({ name: 'ledger', namespace: 'payments', version: '3.3.1', language: 'java', appLogStyle: 'spring', accessLog: 'istio-text', protocol: 'http', port: 8080, replicas: 2 }),
  svc({ name: 'email', namespace: 'messaging', version: '1.0.9', language: 'python', appLogStyle: 'python', accessLog: 'istio-text', protocol: 'grpc', port: 8080, replicas: 1, grpcService: 'meshshop.email.v1.EmailService' }),
  svc({ name: 'notification', namespace: 'messaging', version: '1.2.6', language: 'go', appLogStyle: 'logfmt', accessLog: 'istio-text', protocol: 'http', port: 8080, replicas: 2 }),
  svc({ name: 'redis', namespace: 'data', version: '7.2.4', language: 'redis', appLogStyle: 'redis', accessLog: null, protocol: 'redis', port: 6379, replicas: 1, workloadKind: 'StatefulSet' }),
  svc({ name: 'postgres', namespace: 'data', version: '16.3', language: 'postgres', appLogStyle: 'postgres', accessLog: null, protocol: 'postgresql', port: 5432, replicas: 1, workloadKind: 'StatefulSet' }),
];

const call = (endpoint: string, extra: Omit<ServiceCall, 'kind' | 'endpoint'> = {}): ServiceCall => ({ kind: 'service', endpoint, ...extra });
const pg = (operation: string, target: string, statement: string, extra: Omit<DatabaseCall, 'kind' | 'system' | 'operation' | 'target' | 'statement'> = {}): DatabaseCall => ({
  kind: 'db', system: 'postgresql', operation, target, statement, ...extra,
});
const redis = (operation: string, target: string, statement: string, extra: Omit<DatabaseCall, 'kind' | 'system' | 'operation' | 'target' | 'statement'> = {}): DatabaseCall => ({
  kind: 'db', system: 'redis', operation, target, statement, ...extra,
});

const grpc = (service: string, method: string): Pick<EndpointSpec, 'method' | 'path' | 'route'> => {
  const spec = SERVICES.find((s) => s.name === service);
  const path = `/${spec?.grpcService ?? service}/${method}`;
  return { method: 'POST', path, route: path };
};

export const ENDPOINTS: readonly EndpointSpec[] = [
  // frontend: what the ingress gateway routes to.
  { id: 'frontend.home', service: 'frontend', method: 'GET', path: '/', route: '/', selfMs: 6, requestBytes: [0, 0], responseBytes: [18_000, 42_000], calls: [
    call('catalog.list', { timeoutMs: 400 }), call('currency.convert', { p: 0.6 }), call('recommendation.list', { optional: true, timeoutMs: 1500 }),
    call('ad.get', { optional: true, timeoutMs: 500 }), call('cart.get', { p: 0.4, optional: true }),
  ] },
  { id: 'frontend.product', service: 'frontend', method: 'GET', path: '/product/{productId}', route: '/product/:id', selfMs: 5, requestBytes: [0, 0], responseBytes: [14_000, 30_000], calls: [
    call('catalog.get', { timeoutMs: 400 }), call('reviews.list', { optional: true, timeoutMs: 2000 }), call('inventory.stock', { optional: true, timeoutMs: 250, skipOnError: true }),
    call('recommendation.list', { optional: true, timeoutMs: 1500, skipOnError: true }), call('ad.get', { optional: true, timeoutMs: 500, skipOnError: true }),
    call('currency.convert', { skipOnError: true }),
  ] },
  { id: 'frontend.search', service: 'frontend', method: 'GET', path: '/search?q={query}', route: '/search', selfMs: 4, requestBytes: [0, 0], responseBytes: [9_000, 26_000], calls: [
    call('search.query', { timeoutMs: 3000 }), call('currency.convert', { skipOnError: true }),
  ] },
  { id: 'frontend.static', service: 'frontend', method: 'GET', path: '/static/{asset}', route: '/static/*', selfMs: 0.6, requestBytes: [0, 0], responseBytes: [2_000, 310_000], calls: [] },
  { id: 'frontend.addToCart', service: 'frontend', method: 'POST', path: '/cart', route: '/cart', selfMs: 3, requestBytes: [60, 180], responseBytes: [0, 0], calls: [
    call('auth.verify'), call('inventory.stock', { skipOnError: true }), call('cart.add', { skipOnError: true }),
  ] },
  { id: 'frontend.viewCart', service: 'frontend', method: 'GET', path: '/cart', route: '/cart', selfMs: 5, requestBytes: [0, 0], responseBytes: [11_000, 24_000], calls: [
    call('auth.verify'), call('cart.get', { skipOnError: true }), call('currency.convert', { skipOnError: true }), call('shipping.quote', { optional: true, skipOnError: true }),
  ] },
  { id: 'frontend.checkout', service: 'frontend', method: 'POST', path: '/cart/checkout', route: '/cart/checkout', selfMs: 4, requestBytes: [300, 900], responseBytes: [7_000, 12_000], calls: [
    call('auth.verify'), call('checkout.placeOrder', { timeoutMs: 10_000, skipOnError: true }),
  ] },
  { id: 'frontend.login', service: 'frontend', method: 'POST', path: '/login', route: '/login', selfMs: 2, requestBytes: [80, 160], responseBytes: [0, 0], calls: [call('auth.login')] },
  { id: 'frontend.account', service: 'frontend', method: 'GET', path: '/account/orders', route: '/account/orders', selfMs: 4, requestBytes: [0, 0], responseBytes: [8_000, 20_000], calls: [
    call('auth.verify'), call('user.get', { skipOnError: true }), call('checkout.orders', { skipOnError: true }),
  ] },

  // identity
  { id: 'auth.verify', service: 'auth', method: 'POST', path: '/api/v1/token/verify', route: '/api/v1/token/verify', selfMs: 0.8, requestBytes: [400, 700], responseBytes: [90, 160], calls: [
    redis('GET', 'session', 'GET session:{sessionId}'),
  ], errors: [{ status: 401, p: 0.01, reason: 'token-expired' }] },
  { id: 'auth.login', service: 'auth', method: 'POST', path: '/api/v1/login', route: '/api/v1/login', selfMs: 55, requestBytes: [80, 160], responseBytes: [600, 900], calls: [
    call('user.byEmail'), redis('SET', 'session', 'SET session:{sessionId} ? EX 86400', { skipOnError: true }),
  ], errors: [{ status: 401, p: 0.08, reason: 'invalid-credentials' }] },
  { id: 'user.get', service: 'user', method: 'GET', path: '/api/v1/users/{userId}', route: '/api/v1/users/{id}', selfMs: 0.9, requestBytes: [0, 0], responseBytes: [300, 700], calls: [
    pg('SELECT', 'users', 'SELECT id, email, display_name, locale, created_at FROM users WHERE id = $1'),
  ] },
  { id: 'user.byEmail', service: 'user', method: 'GET', path: '/api/v1/users?email={emailEncoded}', route: '/api/v1/users', selfMs: 0.9, requestBytes: [0, 0], responseBytes: [300, 700], calls: [
    pg('SELECT', 'users', 'SELECT id, password_hash, status FROM users WHERE lower(email) = lower($1)'),
  ] },

  // shop
  { id: 'catalog.list', service: 'catalog', method: 'GET', path: '/api/v1/products?category={category}&limit=12', route: '/api/v1/products', selfMs: 1.5, requestBytes: [0, 0], responseBytes: [4_000, 9_000], calls: [
    redis('GET', 'products', 'GET products:{category}:page:1'),
    pg('SELECT', 'products', 'SELECT id, name, description, picture, price_units, price_nanos FROM products WHERE category = $1 ORDER BY rank LIMIT 12', { p: 0.15, cacheMiss: true }),
  ] },
  { id: 'catalog.get', service: 'catalog', method: 'GET', path: '/api/v1/products/{productId}', route: '/api/v1/products/{id}', selfMs: 0.8, requestBytes: [0, 0], responseBytes: [600, 1_400], calls: [
    redis('GET', 'product', 'GET product:{productId}'),
    pg('SELECT', 'products', 'SELECT id, name, description, picture, price_units, price_nanos, categories FROM products WHERE id = $1', { p: 0.25, cacheMiss: true }),
  ], errors: [{ status: 404, p: 0.01, reason: 'product-not-found' }] },
  { id: 'catalog.batch', service: 'catalog', method: 'POST', path: '/api/v1/products:batchGet', route: '/api/v1/products:batchGet', selfMs: 1.2, requestBytes: [80, 240], responseBytes: [2_500, 6_000], calls: [
    redis('MGET', 'product', 'MGET product:{productId} product:? product:? product:?'),
  ] },
  { id: 'search.query', service: 'search', method: 'GET', path: '/api/v1/search?q={query}&page=1', route: '/api/v1/search', selfMs: 18, requestBytes: [0, 0], responseBytes: [1_500, 5_000], calls: [
    call('catalog.batch', { skipOnError: true }),
  ], errors: [{ status: 400, p: 0.005, reason: 'malformed-query' }] },
  { id: 'reviews.list', service: 'reviews', method: 'GET', path: '/api/v1/reviews/{productId}', route: '/api/v1/reviews/{productId}', selfMs: 3, requestBytes: [0, 0], responseBytes: [800, 6_000], calls: [
    pg('SELECT', 'reviews', 'SELECT author, rating, body, created_at FROM reviews WHERE product_id = $1 ORDER BY created_at DESC LIMIT 20'),
  ] },
  { id: 'recommendation.list', service: 'recommendation', ...grpc('recommendation', 'ListRecommendations'), selfMs: 14, requestBytes: [40, 120], responseBytes: [60, 200], calls: [
    call('catalog.batch'),
  ] },
  { id: 'ad.get', service: 'ad', ...grpc('ad', 'GetAds'), selfMs: 2.5, requestBytes: [20, 60], responseBytes: [150, 600], calls: [] },
  { id: 'currency.convert', service: 'currency', ...grpc('currency', 'Convert'), selfMs: 0.6, requestBytes: [30, 60], responseBytes: [30, 60], calls: [
    redis('GET', 'fx', 'GET fx:rates:EUR', { p: 0.3 }),
  ] },
  { id: 'cart.get', service: 'cart', method: 'GET', path: '/api/v1/carts/{userId}', route: '/api/v1/carts/{userId}', selfMs: 0.5, requestBytes: [0, 0], responseBytes: [80, 900], calls: [
    redis('HGETALL', 'cart', 'HGETALL cart:{userId}'),
  ] },
  { id: 'cart.add', service: 'cart', method: 'POST', path: '/api/v1/carts/{userId}/items', route: '/api/v1/carts/{userId}/items', selfMs: 0.7, requestBytes: [60, 120], responseBytes: [0, 0], calls: [
    redis('HINCRBY', 'cart', 'HINCRBY cart:{userId} {productId} {quantity}'), redis('EXPIRE', 'cart', 'EXPIRE cart:{userId} 2592000'),
  ] },
  { id: 'cart.clear', service: 'cart', method: 'DELETE', path: '/api/v1/carts/{userId}', route: '/api/v1/carts/{userId}', selfMs: 0.4, requestBytes: [0, 0], responseBytes: [0, 0], calls: [
    redis('DEL', 'cart', 'DEL cart:{userId}'),
  ] },
  { id: 'checkout.placeOrder', service: 'checkout', method: 'POST', path: '/api/v1/orders', route: '/api/v1/orders', selfMs: 3, requestBytes: [300, 900], responseBytes: [400, 900], calls: [
    call('cart.get'), call('currency.convert'), call('shipping.quote'), call('payments.charge', { timeoutMs: 8_000 }),
    call('inventory.reserve', { timeoutMs: 600, skipOnError: true }), call('shipping.ship', { skipOnError: true }),
    pg('INSERT', 'orders', 'INSERT INTO orders (id, user_id, total_units, currency, status) VALUES ($1, $2, $3, $4, $5)', { skipOnError: true }),
    call('email.confirm', { optional: true, skipOnError: true }), call('notification.notify', { optional: true, skipOnError: true }),
    call('cart.clear', { optional: true, skipOnError: true }),
  ] },
  { id: 'checkout.orders', service: 'checkout', method: 'GET', path: '/api/v1/orders?user_id={userId}', route: '/api/v1/orders', selfMs: 1.5, requestBytes: [0, 0], responseBytes: [900, 5_000], calls: [
    pg('SELECT', 'orders', 'SELECT id, total_units, currency, status, created_at FROM orders WHERE user_id = $1 ORDER BY created_at DESC LIMIT 20'),
  ] },
  { id: 'shipping.quote', service: 'shipping', ...grpc('shipping', 'GetQuote'), selfMs: 1.2, requestBytes: [60, 200], responseBytes: [30, 60], calls: [] },
  { id: 'shipping.ship', service: 'shipping', ...grpc('shipping', 'ShipOrder'), selfMs: 4, requestBytes: [200, 400], responseBytes: [40, 80], calls: [
    pg('INSERT', 'shipments', 'INSERT INTO shipments (order_id, carrier, tracking_id, address_id) VALUES ($1, $2, $3, $4)'),
  ] },
  { id: 'inventory.stock', service: 'inventory', method: 'GET', path: '/api/v1/stock/{productId}', route: '/api/v1/stock/{sku}', selfMs: 1.5, requestBytes: [0, 0], responseBytes: [60, 120], calls: [
    pg('SELECT', 'stock', 'SELECT warehouse_id, available FROM stock WHERE sku = $1'),
  ] },
  { id: 'inventory.reserve', service: 'inventory', method: 'POST', path: '/api/v1/reservations', route: '/api/v1/reservations', selfMs: 2.5, requestBytes: [120, 300], responseBytes: [80, 160], calls: [
    pg('UPDATE', 'stock', 'UPDATE stock SET available = available - $2, reserved = reserved + $2 WHERE sku = $1 AND available >= $2'),
  ], errors: [{ status: 409, p: 0.01, reason: 'insufficient-stock' }] },

  // payments
  { id: 'payments.charge', service: 'payments', method: 'POST', path: '/api/v1/charges', route: '/api/v1/charges', selfMs: 4, requestBytes: [250, 500], responseBytes: [300, 600], calls: [
    call('fraud.score'), pg('INSERT', 'payments', 'INSERT INTO payments (id, order_id, amount_units, currency, card_last4, status) VALUES ($1, $2, $3, $4, $5, $6)', { skipOnError: true }),
    call('ledger.record', { skipOnError: true }),
  ], errors: [{ status: 402, p: 0.02, reason: 'card-declined' }] },
  { id: 'fraud.score', service: 'fraud-detection', method: 'POST', path: '/api/v1/score', route: '/api/v1/score', selfMs: 9, requestBytes: [300, 600], responseBytes: [70, 140], calls: [
    redis('INCR', 'velocity', 'INCR velocity:{userId}:1h'),
  ] },
  { id: 'ledger.record', service: 'ledger', method: 'POST', path: '/api/v1/entries', route: '/api/v1/entries', selfMs: 2.5, requestBytes: [200, 400], responseBytes: [90, 160], calls: [
    pg('INSERT', 'ledger_entries', 'INSERT INTO ledger_entries (id, payment_id, debit_account, credit_account, amount_units, currency) VALUES ($1, $2, $3, $4, $5, $6)'),
  ] },

  // messaging
  { id: 'email.confirm', service: 'email', ...grpc('email', 'SendOrderConfirmation'), selfMs: 35, requestBytes: [400, 1_200], responseBytes: [5, 20], calls: [] },
  { id: 'notification.notify', service: 'notification', method: 'POST', path: '/api/v1/notifications', route: '/api/v1/notifications', selfMs: 1.5, requestBytes: [150, 400], responseBytes: [40, 90], calls: [
    call('user.get'),
  ] },
];

/**
 * What a visitor does, by weight. About half of all traffic browses; a few
 * percent checks out. Weights need not sum to anything.
 */
export const ENTRY_ROUTES: ReadonlyArray<{ readonly endpoint: string; readonly weight: number }> = [
  { endpoint: 'frontend.home', weight: 18 },
  { endpoint: 'frontend.product', weight: 22 },
  { endpoint: 'frontend.search', weight: 8 },
  { endpoint: 'frontend.static', weight: 14 },
  { endpoint: 'frontend.addToCart', weight: 9 },
  { endpoint: 'frontend.viewCart', weight: 8 },
  { endpoint: 'frontend.checkout', weight: 6 },
  { endpoint: 'frontend.login', weight: 5 },
  { endpoint: 'frontend.account', weight: 5 },
];

export const CLUSTER_NAME = 'demo';
export const ENVIRONMENT = 'demo';
export const EXTERNAL_HOST = 'shop.example.com';
const NODE_COUNT = 4;

export interface Pod {
  readonly name: string;
  readonly service: ServiceSpec;
  readonly index: number;
  readonly ip: string;
  readonly node: string;
  /** The application container's resource (`undefined` for the gateway, which is all proxy). */
  readonly app: DemoResource | undefined;
  /** The `istio-proxy` container's resource (`undefined` without a sidecar). */
  readonly proxy: DemoResource | undefined;
}

export interface Topology {
  readonly services: ReadonlyMap<string, ServiceSpec>;
  readonly endpoints: ReadonlyMap<string, EndpointSpec>;
  readonly pods: ReadonlyMap<string, readonly Pod[]>;
  /** ClusterIP per service name. */
  readonly clusterIps: ReadonlyMap<string, string>;
}

export function serviceFqdn(service: ServiceSpec): string {
  return `${service.name}.${service.namespace}.svc.cluster.local`;
}

/** Istio's outbound cluster name, `outbound|<port>|<subset>|<fqdn>`. */
export function outboundCluster(service: ServiceSpec): string {
  return `outbound|${service.port}||${serviceFqdn(service)}`;
}

/** Istio's inbound cluster name, `inbound|<targetPort>||`. */
export function inboundCluster(service: ServiceSpec): string {
  return `inbound|${service.targetPort}||`;
}

/** The SNI a client sidecar sends for mTLS, as seen by the server sidecar. */
export function outboundSni(service: ServiceSpec): string {
  return `outbound_.${service.port}_._.${serviceFqdn(service)}`;
}

/**
 * The `:authority` a caller puts on the request: the short name within a
 * namespace, `<name>.<namespace>` across namespaces, as people write them
 * in service configuration.
 */
export function authorityFor(caller: ServiceSpec, target: ServiceSpec): string {
  return caller.namespace === target.namespace ? `${target.name}:${target.port}` : `${target.name}.${target.namespace}:${target.port}`;
}

function resource(pod: { name: string; service: ServiceSpec; node: string }, container: string): DemoResource {
  const s = pod.service;
  const attributes: OtlpKeyValue[] = [
    stringAttr('service.name', s.name),
    stringAttr('service.namespace', s.namespace),
    stringAttr('service.version', s.version),
    stringAttr('service.instance.id', `${s.namespace}.${pod.name}.${container}`),
    stringAttr('k8s.cluster.name', CLUSTER_NAME),
    stringAttr('k8s.namespace.name', s.namespace),
    stringAttr('k8s.node.name', pod.node),
    stringAttr('k8s.pod.name', pod.name),
    stringAttr('k8s.container.name', container),
    stringAttr(s.workloadKind === 'StatefulSet' ? 'k8s.statefulset.name' : 'k8s.deployment.name', s.name),
    stringAttr('deployment.environment.name', ENVIRONMENT),
  ];
  return { key: `${pod.name}/${container}`, attributes };
}

/** Builds the cluster for a seed: pod names, nodes and addresses. */
export function buildTopology(seed: number): Topology {
  const rng = new SeededRandom(seed ^ 0x70901097);
  const services = new Map(SERVICES.map((s) => [s.name, s]));
  const endpoints = new Map(ENDPOINTS.map((e) => [e.id, e]));
  const nodes = Array.from({ length: NODE_COUNT }, (_, i) => `demo-worker-${i + 1}`);
  const nextHost = Array.from({ length: NODE_COUNT }, () => rng.int(4, 40));
  const pods = new Map<string, Pod[]>();
  const clusterIps = new Map<string, string>();
  const usedClusterIps = new Set<string>();

  for (const s of SERVICES) {
    let clusterIp: string;
    do clusterIp = `10.96.${rng.int(0, 255)}.${rng.int(2, 254)}`;
    while (usedClusterIps.has(clusterIp));
    usedClusterIps.add(clusterIp);
    clusterIps.set(s.name, clusterIp);

    // A Deployment's pods share the ReplicaSet's template hash and differ in a
    // 5-character suffix; a StatefulSet's are numbered.
    const templateHash = rng.alnum(rng.int(9, 10));
    const list: Pod[] = [];
    for (let i = 0; i < s.replicas; i++) {
      const nodeIndex = (rng.int(0, NODE_COUNT - 1) + i) % NODE_COUNT;
      const host = nextHost[nodeIndex] ?? 2;
      nextHost[nodeIndex] = host + rng.int(1, 6);
      const name = s.workloadKind === 'StatefulSet' ? `${s.name}-${i}` : `${s.name}-${templateHash}-${rng.alnum(5)}`;
      const node = nodes[nodeIndex] ?? 'demo-worker-1';
      const base = { name, service: s, node };
      list.push({
        name,
        service: s,
        index: i,
        ip: `10.244.${nodeIndex + 1}.${host}`,
        node,
        app: s.language === 'envoy' ? undefined : resource(base, s.name),
        proxy: s.accessLog === null ? undefined : resource(base, 'istio-proxy'),
      });
    }
    pods.set(s.name, list);
  }
  return { services, endpoints, pods, clusterIps };
}
