/**
 * What each service says in its own logs: per-endpoint messages, business
 * rejections, and the errors (with stack traces in each runtime's layout)
 * written when a handler, a dependency, or a database fails.
 *
 * Invariants: messages are fixed strings, and values live in fields, as
 * structured logging intends, so the same message groups across requests;
 * some fields carry personal data on purpose (e-mail, client IP, card
 * suffix) because a real shop's logs do and redaction needs something to do.
 */

import type { AppError, Fields, LogLevel } from './app-log-formats.js';
import type { SeededRandom } from './random.js';
import type { RequestValues } from './request-values.js';
import type { ServiceSpec } from './topology.js';

export interface TemplateContext {
  readonly v: RequestValues;
  readonly rng: SeededRandom;
  /** The handler's duration so far, in ms. */
  readonly durationMs: number;
}

export interface LogTemplate {
  /** Probability per request that the line is written. */
  readonly p: number;
  readonly level: LogLevel;
  readonly msg: string;
  /** Logger, class, or source location, as the style names it. */
  readonly logger: string;
  readonly fields?: (c: TemplateContext) => Fields;
}

const t = (p: number, level: LogLevel, logger: string, msg: string, fields?: (c: TemplateContext) => Fields): LogTemplate =>
  fields === undefined ? { p, level, logger, msg } : { p, level, logger, msg, fields };

/** Lines a handler writes when it succeeds. */
export const ENDPOINT_LOGS: Readonly<Record<string, readonly LogTemplate[]>> = {
  'frontend.home': [t(0.3, 'info', 'http', 'rendered home page', ({ v }) => ({ currency: v.currency, products: 12, session_id: v.sessionId }))],
  'frontend.product': [t(0.3, 'info', 'http', 'rendered product page', ({ v }) => ({ product_id: v.productId, currency: v.currency }))],
  'frontend.search': [t(0.6, 'info', 'http', 'search served', ({ v, rng }) => ({ q: v.queryText, results: rng.int(0, 48) }))],
  'frontend.addToCart': [t(0.8, 'info', 'http', 'item added to cart', ({ v }) => ({ user_id: v.userId, product_id: v.productId, quantity: v.quantity }))],
  'frontend.viewCart': [t(0.3, 'info', 'http', 'cart viewed', ({ v, rng }) => ({ user_id: v.userId, items: rng.int(1, 6) }))],
  'frontend.checkout': [t(1, 'info', 'http', 'order placed', ({ v }) => ({ order_id: v.orderId, user_id: v.userId, total: v.amount, currency: v.currency }))],
  'frontend.login': [t(1, 'info', 'http', 'user logged in', ({ v }) => ({ user_id: v.userId, email: v.email, client_ip: v.clientIp }))],
  'frontend.account': [t(0.3, 'info', 'http', 'rendered order history', ({ v }) => ({ user_id: v.userId }))],

  'auth.verify': [t(0.05, 'debug', 'token/verify.go:61', 'token verified', ({ v }) => ({ user_id: v.userId, session_id: v.sessionId }))],
  'auth.login': [t(1, 'info', 'login/handler.go:97', 'login succeeded', ({ v }) => ({ user_id: v.userId, method: 'password', client_ip: v.clientIp }))],
  'user.get': [t(0.1, 'debug', '', 'user loaded', ({ v }) => ({ user_id: v.userId }))],
  'user.byEmail': [t(0.3, 'info', '', 'user lookup by email', ({ v }) => ({ email: v.email }))],

  'catalog.list': [t(0.1, 'debug', 'products/list.go:44', 'listing products', ({ v }) => ({ category: v.category, limit: 12 }))],
  'catalog.get': [t(0.05, 'debug', 'products/get.go:31', 'product served', ({ v }) => ({ product_id: v.productId }))],
  'catalog.batch': [t(0.05, 'debug', 'products/batch.go:27', 'batch get', ({ rng }) => ({ count: rng.int(2, 8) }))],
  'search.query': [t(0.4, 'info', 'c.m.search.SearchController', 'Search completed', ({ v, rng, durationMs }) => ({ query: JSON.stringify(v.queryText), hits: rng.int(0, 240), tookMs: Math.round(durationMs) }))],
  'reviews.list': [t(0.1, 'debug', 'c.m.reviews.ReviewRepository', 'Fetched reviews', ({ v, rng }) => ({ productId: v.productId, count: rng.int(0, 20) }))],
  'recommendation.list': [t(0.3, 'info', 'recommendation.server', '[Recv ListRecommendations]', ({ v }) => ({ product_ids: `['${v.productId}']` }))],
  'ad.get': [t(0.2, 'info', 'c.m.ad.AdService', 'received ad request', ({ v }) => ({ contextKeys: `[${v.category}]` }))],
  'currency.convert': [t(0.1, 'info', 'currency', 'conversion request successful', ({ v }) => ({ from: 'EUR', to: v.currency }))],
  'cart.get': [t(0.1, 'debug', '', 'cart loaded', ({ v, rng }) => ({ user_id: v.userId, items: rng.int(0, 6) }))],
  'cart.add': [t(1, 'info', '', 'item added', ({ v }) => ({ user_id: v.userId, product_id: v.productId, quantity: v.quantity }))],
  'cart.clear': [t(1, 'info', '', 'cart emptied', ({ v }) => ({ user_id: v.userId }))],
  'checkout.placeOrder': [
    t(1, 'info', 'checkout/service.go:212', 'payment went through', ({ v }) => ({ order_id: v.orderId, transaction_id: v.paymentId })),
    t(1, 'info', 'checkout/service.go:240', 'order placed', ({ v, rng }) => ({ order_id: v.orderId, user_id: v.userId, amount: v.amount, currency: v.currency, items: rng.int(1, 5) })),
  ],
  'checkout.orders': [t(0.2, 'debug', 'orders/list.go:35', 'listed orders', ({ v, rng }) => ({ user_id: v.userId, count: rng.int(0, 20) }))],
  'shipping.quote': [t(0.3, 'info', '', '[GetQuote] received request', ({ v, rng }) => ({ items: rng.int(1, 5), currency: v.currency }))],
  'shipping.ship': [t(1, 'info', '', 'shipment created', ({ v }) => ({ order_id: v.orderId, carrier: v.carrier, tracking_id: v.trackingId }))],
  'inventory.stock': [t(0.05, 'debug', 'c.m.inventory.StockService', 'Stock lookup', ({ v, rng }) => ({ sku: v.productId, available: rng.int(0, 400) }))],
  'inventory.reserve': [t(1, 'info', 'c.m.inventory.ReservationService', 'Reserved stock', ({ v }) => ({ sku: v.productId, qty: v.quantity, orderId: v.orderId }))],
  'payments.charge': [
    t(1, 'info', 'charge/handler.go:142', 'payment authorized', ({ v }) => ({ order_id: v.orderId, payment_id: v.paymentId, amount: v.amount, currency: v.currency, card_brand: v.cardBrand, card_last4: v.cardLast4 })),
  ],
  'fraud.score': [
    t(1, 'info', 'fraud.scoring', 'transaction scored', ({ v, rng }) => ({ user_id: v.userId, score: Math.round(rng.next() * 0.3 * 1000) / 1000, decision: 'allow', model: 'gbm-2024-04' })),
    t(0.01, 'warn', 'fraud.scoring', 'high risk score, step-up authentication required', ({ v, rng }) => ({ user_id: v.userId, score: Math.round((0.8 + rng.next() * 0.2) * 1000) / 1000, client_ip: v.clientIp })),
  ],
  'ledger.record': [t(1, 'info', 'c.m.ledger.EntryService', 'Ledger entry committed', ({ v }) => ({ paymentId: v.paymentId, debit: 'customer-receivables', credit: 'revenue', amount: v.amount }))],
  'email.confirm': [t(1, 'info', 'email.server', 'Order confirmation sent', ({ v }) => ({ to: v.email, order_id: v.orderId }))],
  'notification.notify': [t(1, 'info', '', 'push notification queued', ({ v, rng }) => ({ user_id: v.userId, channel: rng.pick(['apns', 'fcm', 'webpush']) }))],
};

/** Lines for the business rejections named in the topology's `errors`. */
export const BUSINESS_ERROR_LOGS: Readonly<Record<string, LogTemplate>> = {
  'token-expired': t(1, 'warn', 'token/verify.go:48', 'token verification failed', ({ v }) => ({ reason: 'token is expired', session_id: v.sessionId })),
  'invalid-credentials': t(1, 'warn', 'login/handler.go:81', 'login failed', ({ v }) => ({ reason: 'invalid password', email: v.email, client_ip: v.clientIp })),
  'product-not-found': t(1, 'info', 'products/get.go:38', 'product not found', ({ v }) => ({ product_id: v.productId })),
  'malformed-query': t(1, 'warn', 'c.m.search.SearchController', 'Rejected malformed query', ({ v }) => ({ query: JSON.stringify(`${v.queryText} AND (`) })),
  'insufficient-stock': t(1, 'warn', 'c.m.inventory.ReservationService', 'Reservation rejected: insufficient stock', ({ v }) => ({ sku: v.productId, requested: v.quantity })),
  'card-declined': t(1, 'warn', 'charge/handler.go:118', 'payment declined', ({ v, rng }) => ({ order_id: v.orderId, decline_code: rng.pick(['insufficient_funds', 'do_not_honor', 'expired_card', 'incorrect_cvc']), card_last4: v.cardLast4 })),
};

/** A logger name per style for the generic lines below. */
export function defaultLogger(service: ServiceSpec): string {
  switch (service.appLogStyle) {
    case 'zap':
      return 'server/middleware.go:73';
    case 'spring':
      return `c.m.${service.name.replace(/-/g, '')}.web.ApiExceptionHandler`;
    case 'python':
      return `${service.name}.server`;
    case 'structlog':
      return `${service.name.replace(/-/g, '_')}.api`;
    case 'pino':
      return 'http';
    default:
      return '';
  }
}

const goFrames = (svc: string, pkg: string, fn: string, line: number): string[] => [
  `github.com/meshshop/${svc}/internal/${pkg}.${fn}`,
  `/src/internal/${pkg}/${pkg}.go:${line}`,
  `github.com/meshshop/${svc}/internal/server.(*Server).routes.func${(line % 7) + 1}`,
  '/src/internal/server/routes.go:58',
  'net/http.HandlerFunc.ServeHTTP',
  '/usr/local/go/src/net/http/server.go:2171',
  'go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp.(*middleware).serveHTTP',
  '/go/pkg/mod/go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp@v0.51.0/handler.go:225',
  'net/http.serverHandler.ServeHTTP',
  '/usr/local/go/src/net/http/server.go:3142',
];

const javaWebFrames = (svc: string, cls: string, method: string, line: number): string[] => [
  `com.meshshop.${svc}.${cls}.${method}(${cls.split('.').pop() ?? cls}.java:${line})`,
  `com.meshshop.${svc}.web.ApiController.handle(ApiController.java:${40 + (line % 30)})`,
  'java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)',
  'org.springframework.web.method.support.InvocableHandlerMethod.doInvoke(InvocableHandlerMethod.java:255)',
  'org.springframework.web.servlet.mvc.method.annotation.ServletInvocableHandlerMethod.invokeAndHandle(ServletInvocableHandlerMethod.java:118)',
  'org.springframework.web.servlet.DispatcherServlet.doDispatch(DispatcherServlet.java:1089)',
  'org.springframework.web.servlet.FrameworkServlet.processRequest(FrameworkServlet.java:1014)',
  'org.apache.tomcat.util.threads.ThreadPoolExecutor$Worker.run(ThreadPoolExecutor.java:659)',
  'java.base/java.lang.Thread.run(Thread.java:1583)',
];

const nodeFrames = (svc: string, file: string, fn: string, line: number): string[] => [
  `${fn} (/app/dist/${file}.js:${line}:${(line * 7) % 60 + 5})`,
  `async ${svc}Handler (/app/dist/routes/${svc}.js:${line + 12}:20)`,
  'async /app/node_modules/@opentelemetry/instrumentation-http/build/src/http.js:340:27',
];

/** A handler's own bug: the 500s that no dependency explains. */
export function internalError(service: ServiceSpec, rng: SeededRandom): { msg: string; logger: string; error: AppError } {
  const line = rng.int(40, 400);
  switch (service.language) {
    case 'java':
      return {
        // What Tomcat logs for an exception escaping a controller; grpc-java's executor for a gRPC service.
        msg: service.protocol === 'grpc'
          ? `Exception while executing runnable io.grpc.internal.ServerImpl$JumpToApplicationThreadServerStreamListener$1HalfClosed@${rng.hex(8)}`
          : 'Servlet.service() for servlet [dispatcherServlet] in context with path [] threw exception [Request processing failed: java.lang.NullPointerException] with root cause',
        logger: service.protocol === 'grpc' ? 'i.grpc.internal.SerializingExecutor' : 'o.a.c.c.C.[.[.[/].[dispatcherServlet]',
        error: {
          type: 'java.lang.NullPointerException',
          message: 'Cannot invoke "java.math.BigDecimal.scale()" because "price" is null',
          frames: javaWebFrames(service.name.replace(/-/g, ''), 'service.PriceMapper', 'toDto', line),
        },
      };
    case 'python':
      return {
        msg: 'Exception calling application: list index out of range',
        logger: 'grpc._server',
        error: {
          type: 'IndexError',
          message: 'list index out of range',
          frames: [
            `File "/usr/local/lib/python3.12/site-packages/grpc/_server.py", line 555, in _call_behavior\n    response_or_iterator = behavior(argument, context)`,
            `File "/app/${service.name.replace(/-/g, '_')}/server.py", line ${line}, in handle\n    top = ranked[0]`,
          ],
        },
      };
    case 'node':
      return {
        msg: 'unhandled error in request handler',
        logger: 'http',
        error: { type: 'TypeError', message: "Cannot read properties of undefined (reading 'units')", frames: nodeFrames(service.name, 'lib/money', 'toMoney', line) },
      };
    default:
      if (service.appLogStyle === 'logfmt') {
        return {
          msg: 'internal error',
          logger: '',
          error: { type: 'error', message: 'sql: Scan error on column index 3, name "updated_at": unsupported Scan, storing driver.Value type <nil> into type *time.Time', frames: [] },
        };
      }
      return {
        msg: 'panic recovered',
        logger: 'server/middleware.go:73',
        error: { type: 'panic', message: 'runtime error: invalid memory address or nil pointer dereference', frames: goFrames(service.name, 'handler', '(*Handler).Serve', line) },
      };
  }
}

/** A required dependency failed, so the handler fails too. */
export function dependencyError(service: ServiceSpec, target: ServiceSpec, status: number, detail: string, rng: SeededRandom): { msg: string; logger: string; error: AppError } {
  const line = rng.int(40, 300);
  const statusText = status === 503 ? 'Service Unavailable' : status === 504 ? 'Gateway Timeout' : status === 500 ? 'Internal Server Error' : 'Error';
  const grpc = target.protocol === 'grpc';
  switch (service.language) {
    case 'java':
      return {
        msg: `Request to ${target.name} failed`,
        logger: defaultLogger(service),
        error: grpc
          ? { type: 'io.grpc.StatusRuntimeException', message: `UNAVAILABLE: ${detail}`, frames: ['io.grpc.stub.ClientCalls.toStatusRuntimeException(ClientCalls.java:268)', 'io.grpc.stub.ClientCalls.getUnchecked(ClientCalls.java:249)', ...javaWebFrames(service.name.replace(/-/g, ''), `client.${cap(target.name)}Client`, 'call', line).slice(0, 4)] }
          : { type: `org.springframework.web.client.HttpServerErrorException$${statusText.replace(/ /g, '')}`, message: `${status} ${statusText}: "${detail}"`, frames: ['org.springframework.web.client.HttpServerErrorException.create(HttpServerErrorException.java:116)', 'org.springframework.web.client.StatusHandler.lambda$defaultHandler$3(StatusHandler.java:89)', 'org.springframework.web.client.DefaultRestClient$DefaultResponseSpec.toEntityInternal(DefaultRestClient.java:677)', ...javaWebFrames(service.name.replace(/-/g, ''), `client.${cap(target.name)}Client`, 'fetch', line).slice(0, 5)] },
      };
    case 'python':
      return {
        msg: `Failed to call ${target.name}`,
        logger: defaultLogger(service),
        error: {
          type: 'requests.exceptions.HTTPError',
          message: `${status} Server Error: ${statusText} for url: http://${target.name}.${target.namespace}:${target.port}/`,
          frames: [
            `File "/app/${service.name.replace(/-/g, '_')}/server.py", line ${line}, in handle\n    items = self.${target.name.replace(/-/g, '_')}.fetch(request)`,
            `File "/app/${service.name.replace(/-/g, '_')}/clients.py", line 41, in fetch\n    resp.raise_for_status()`,
            `File "/usr/local/lib/python3.12/site-packages/requests/models.py", line 1021, in raise_for_status\n    raise HTTPError(http_error_msg, response=self)`,
          ],
        },
      };
    case 'node':
      return {
        msg: `request to ${target.name} failed`,
        logger: 'http',
        error: grpc
          ? { type: 'Error', message: `14 UNAVAILABLE: ${detail}`, frames: ['callErrorFromStatus (/app/node_modules/@grpc/grpc-js/build/src/call.js:31:19)', 'Object.onReceiveStatus (/app/node_modules/@grpc/grpc-js/build/src/client.js:193:76)', 'process.processTicksAndRejections (node:internal/process/task_queues:77:11)'] }
          : { type: 'HTTPError', message: `Response code ${status} (${statusText})`, frames: ['Request.<anonymous> (/app/node_modules/got/dist/source/as-promise/index.js:86:42)', 'process.processTicksAndRejections (node:internal/process/task_queues:95:5)'] },
      };
    default:
      if (service.appLogStyle === 'logfmt') {
        return { msg: 'upstream call failed', logger: '', error: { type: 'error', message: `${target.name}: ${grpc ? `rpc error: code = Unavailable desc = ${detail}` : `unexpected status ${status} ${statusText}`}`, frames: [] } };
      }
      return {
        msg: `failed to call ${target.name}`,
        logger: 'server/middleware.go:73',
        error: { type: 'error', message: grpc ? `rpc error: code = Unavailable desc = ${detail}` : `${target.name}: unexpected status ${status} ${statusText}`, frames: goFrames(service.name, 'clients', `(*${cap(target.name)}Client).Do`, line) },
      };
  }
}

/** Payments' connection to postgres is refused (the error-burst incident). */
export function postgresRefusedError(service: ServiceSpec, postgresIp: string, rng: SeededRandom): { msg: string; logger: string; error: AppError } {
  const port = rng.int(32_768, 60_999);
  return {
    msg: 'connection refused to postgres',
    logger: 'store/postgres.go:88',
    error: {
      type: 'error',
      message: `failed to connect to \`host=postgres.data user=${service.name} database=${service.name}\`: dial error (dial tcp ${postgresIp}:5432: connect: connection refused)`,
      frames: [
        `github.com/meshshop/${service.name}/internal/store.(*Postgres).InsertPayment`,
        '/src/internal/store/postgres.go:88',
        `github.com/meshshop/${service.name}/internal/charge.(*Handler).Charge`,
        '/src/internal/charge/handler.go:131',
        'net/http.HandlerFunc.ServeHTTP',
        '/usr/local/go/src/net/http/server.go:2171',
        'net/http.serverHandler.ServeHTTP',
        `/usr/local/go/src/net/http/server.go:${3142 + (port % 2)}`,
      ],
    },
  };
}

function cap(name: string): string {
  return name.replace(/(^|-)(\w)/g, (_m, _d: string, c: string) => c.toUpperCase());
}

/** The warning a service writes when a query was slow (latency spike). */
export function slowQueryLog(service: ServiceSpec, statement: string, durationMs: number): { level: LogLevel; msg: string; logger: string; fields: Fields } {
  const ms = Math.round(durationMs);
  switch (service.appLogStyle) {
    case 'spring':
      // Hibernate 6's slow query log.
      return { level: 'info', msg: `SlowQuery: ${ms} milliseconds. SQL: '${statement}'`, logger: 'org.hibernate.SQL_SLOW', fields: {} };
    case 'pino':
      return { level: 'warn', msg: 'event loop lag detected', logger: 'http', fields: { lag_ms: ms } };
    default:
      return { level: 'warn', msg: 'SQL query slow', logger: 'store/postgres.go:61', fields: { duration_ms: ms, statement } };
  }
}
