/**
 * The business values one visitor's request carries through the mesh: who
 * (user, session, e-mail, client address, browser), what (product, query,
 * order, amount). Paths, SQL, and app log fields are filled from them, so
 * one order id or user id can be followed from the ingress to the ledger.
 *
 * Personal data is fake but shaped like the real thing (e-mail addresses in
 * a query string, client IPs, card suffixes) so the demo gives redaction
 * something to find. Addresses come from the documentation ranges
 * (RFC 5737) and mail domains are reserved example domains (RFC 2606).
 */

import type { SeededRandom } from './random.js';

export interface RequestValues {
  readonly userId: string;
  readonly sessionId: string;
  readonly email: string;
  readonly emailEncoded: string;
  readonly clientIp: string;
  readonly clientPort: number;
  readonly userAgent: string;
  /** Browsers speak HTTP/2 to the gateway; scripts and old clients HTTP/1.1. */
  readonly clientProtocol: 'HTTP/2' | 'HTTP/1.1';
  readonly productId: string;
  readonly category: string;
  readonly query: string;
  readonly queryText: string;
  readonly asset: string;
  readonly quantity: number;
  readonly orderId: string;
  readonly paymentId: string;
  readonly amount: string;
  readonly currency: string;
  readonly cardLast4: string;
  readonly cardBrand: string;
  readonly trackingId: string;
  readonly carrier: string;
  readonly [key: string]: string | number;
}

const PRODUCTS = ['OLJCESPC7Z', '66VCHSJNUP', '1YMWWN1N4O', 'L9ECAV7KIM', '2ZYFJ3GM2N', '0PUK6V6EV0', 'LS4PSXUNUM', '9SIQT8TOJO', '6E92ZMYYFZ', 'HQTGWGPNH4', 'K3T7QW8ZP1', 'B8M2XR5VQC'];
const CATEGORIES = ['accessories', 'clothing', 'footwear', 'hair', 'decor', 'kitchen', 'vintage', 'cycling'];
const QUERIES = ['sunglasses', 'tank top', 'watch', 'loafers', 'hairdryer', 'candle holder', 'salt and pepper shakers', 'bamboo glass jar', 'mug', 'city bike', 'vintage typewriter', 'camera lens'];
const FIRST = ['jane', 'john', 'maria', 'li', 'amir', 'sofia', 'noah', 'emma', 'lucas', 'olga', 'kenji', 'fatima', 'pierre', 'ana'];
const LAST = ['doe', 'smith', 'garcia', 'wang', 'haddad', 'rossi', 'muller', 'kowalski', 'tanaka', 'silva', 'dubois', 'novak'];
const MAIL_DOMAINS = ['example.com', 'example.org', 'example.net'];
const CURRENCIES = ['EUR', 'USD', 'GBP', 'JPY', 'CAD', 'CHF'];
const CARD_BRANDS = ['visa', 'mastercard', 'amex'];
const CARRIERS = ['dhl', 'ups', 'fedex', 'postnl'];
const ASSETS = ['js/main.4f9c2a1b.js', 'js/vendor.82b1e0d3.js', 'css/app.9a7d5c11.css', 'img/hero.webp', 'img/products/sunglasses.jpg', 'img/products/watch.jpg', 'fonts/inter-var.woff2', 'favicon.ico'];
const BROWSERS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67',
  'MeshShop/4.12.0 (iPhone; iOS 17.4.1; Scale/3.00)',
  'MeshShop/4.11.2 (Android 14; Pixel 7)',
];
const SCRIPTS = ['curl/8.7.1', 'python-requests/2.31.0', 'Go-http-client/1.1'];
/** Probes and scanners that hit any public endpoint; the gateway has no route for what they ask. */
export const SCANNER_PATHS = ['/wp-login.php', '/.env', '/.git/config', '/phpmyadmin/index.php', '/cgi-bin/luci', '/actuator/env', '/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php'];
export const SCANNER_AGENTS = ['Mozilla/5.0 zgrab/0.x', 'Mozilla/5.0 (compatible; Nuclei - Open-source project (github.com/projectdiscovery/nuclei))', 'python-httpx/0.27.0'];

const CLIENT_NETS = ['192.0.2', '198.51.100', '203.0.113'];

export function newRequestValues(rng: SeededRandom): RequestValues {
  const first = rng.pick(FIRST);
  const last = rng.pick(LAST);
  const email = `${first}.${last}${rng.chance(0.4) ? rng.int(1, 99) : ''}@${rng.pick(MAIL_DOMAINS)}`;
  const queryText = rng.pick(QUERIES);
  const currency = rng.pick(CURRENCIES);
  const script = rng.chance(0.03);
  const userAgent = script ? rng.pick(SCRIPTS) : rng.pick(BROWSERS);
  return {
    userId: `u-${rng.int(10_000, 99_999)}`,
    sessionId: rng.hex(24),
    email,
    emailEncoded: encodeURIComponent(email),
    clientIp: `${rng.pick(CLIENT_NETS)}.${rng.int(1, 254)}`,
    clientPort: rng.int(1024, 65_535),
    userAgent,
    clientProtocol: script || userAgent.startsWith('MeshShop') ? 'HTTP/1.1' : 'HTTP/2',
    productId: rng.pick(PRODUCTS),
    category: rng.pick(CATEGORIES),
    query: encodeURIComponent(queryText).replace(/%20/g, '+'),
    queryText,
    asset: rng.pick(ASSETS),
    quantity: rng.weighted([1, 2, 3, 5], [70, 20, 7, 3]),
    orderId: rng.uuid(),
    paymentId: `pay_${rng.alnum(20, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789')}`,
    amount: (currency === 'JPY' ? rng.int(800, 60_000) : rng.int(500, 45_000) / 100).toFixed(currency === 'JPY' ? 0 : 2),
    currency,
    cardLast4: String(rng.int(0, 9999)).padStart(4, '0'),
    cardBrand: rng.pick(CARD_BRANDS),
    trackingId: `${rng.alnum(2, 'ABCDEFGHJKLMNPQRSTUVWXYZ')}${rng.int(100_000_000, 999_999_999)}${rng.pick(['DE', 'US', 'NL', 'GB'])}`,
    carrier: rng.pick(CARRIERS),
  };
}

/** Replaces `{name}` with the request's value; unknown names stay as written. */
export function fillTemplate(template: string, values: RequestValues): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const v = values[name];
    return v === undefined ? whole : String(v);
  });
}
