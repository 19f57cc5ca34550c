/**
 * The service map: the mesh as the sidecars' access logs tell it over a
 * range. Nodes are services, edges are calls (outbound entries), labelled
 * with rate, error share, p95 latency and the share of calls that were
 * mutual TLS (from the callee's inbound entry of the same request). Built in
 * the browser from access log lines, so it needs no metric query support;
 * with a line limit the figures are over the span the lines cover, which the
 * page says. Clicking an edge (or its table row) opens its logs in Explore.
 */
import { useEffect, useMemo, useState } from 'react';
import { queryRange } from '../lib/api.js';
import { buildServiceMap, type EdgeStats, type ServiceMapData } from '../lib/access-log.js';
import { msToNs, resolveRange, RELATIVE_CHOICES } from '../lib/time-range.js';
import { ErrorMessage, Loading } from '../components/Feedback.js';
import { exploreUrl, navigate } from '../lib/url-state.js';

const DEFAULT_SELECTOR = '{k8s_container_name="istio-proxy"}';

function edgeQuery(e: EdgeStats): string {
  return `{service_name="${e.from}", k8s_container_name="istio-proxy"} |= "||${e.to}."`;
}

/** Columns by the longest call chain from the services nobody calls (the entry points), so a callee sits right of every caller. */
function layout(map: ServiceMapData): Map<string, { x: number; y: number }> {
  const depth = new Map<string, number>(map.nodes.map((n) => [n, 0]));
  // Longest-path layering; at most one pass per node, so a call cycle cannot loop forever.
  for (let pass = 0; pass < map.nodes.length; pass++) {
    let moved = false;
    for (const e of map.edges) {
      const d = depth.get(e.from)! + 1;
      if (e.from !== e.to && d > depth.get(e.to)! && d < map.nodes.length) {
        depth.set(e.to, d);
        moved = true;
      }
    }
    if (!moved) break;
  }
  const columns = new Map<number, string[]>();
  for (const [n, d] of depth) columns.set(d, [...(columns.get(d) ?? []), n].sort());
  const pos = new Map<string, { x: number; y: number }>();
  for (const [d, names] of columns) names.forEach((n, i) => pos.set(n, { x: 90 + d * 210, y: 40 + i * 56 }));
  return pos;
}

const pct = (x: number | undefined): string => (x === undefined ? '–' : `${(x * 100).toFixed(x > 0 && x < 0.01 ? 2 : 0)}%`);

export function ServiceMap({ search }: { search: URLSearchParams }) {
  const from = search.get('from') ?? 'now-15m';
  const selector = search.get('selector') ?? DEFAULT_SELECTOR;
  const [map, setMap] = useState<ServiceMapData | undefined>();
  const [error, setError] = useState<unknown>();
  const [tick, setTick] = useState(0);

  useEffect(() => {
    const r = resolveRange({ from, to: 'now' });
    if (r instanceof Error) {
      setError(r);
      return;
    }
    setMap(undefined);
    setError(undefined);
    const abort = new AbortController();
    queryRange({ query: selector, startNs: msToNs(r.startMs), endNs: msToNs(r.endMs), limit: 5000, direction: 'backward' }, abort.signal)
      .then((d) => {
        const entries = d.resultType === 'streams' ? d.result.flatMap((s) => s.values.map(([ts, line]) => ({ service: s.stream['service_name'] ?? '?', line, tsMs: Number(BigInt(ts) / 1_000_000n) }))) : [];
        setMap(buildServiceMap(entries));
      })
      .catch((err: unknown) => {
        if (!(err instanceof DOMException && err.name === 'AbortError')) setError(err);
      });
    return () => abort.abort();
  }, [from, selector, tick]);

  const pos = useMemo(() => (map ? layout(map) : new Map<string, { x: number; y: number }>()), [map]);
  const width = Math.max(...[...pos.values()].map((p) => p.x + 120), 400);
  const height = Math.max(...[...pos.values()].map((p) => p.y + 40), 200);
  const openEdge = (e: EdgeStats): void => navigate(exploreUrl({ q: edgeQuery(e), from }));

  return (
    <section className="service-map" aria-label="Service map">
      <div className="toolbar">
        <h1>Service map</h1>
        <label>
          Range{' '}
          <select value={from} onChange={(e) => navigate(`/ui/map?from=${encodeURIComponent(e.target.value)}&selector=${encodeURIComponent(selector)}`)}>
            {RELATIVE_CHOICES.map((c) => (
              <option key={c.from} value={c.from}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={() => setTick((t) => t + 1)}>
          Refresh
        </button>
        <span className="hint">
          from access logs <code>{selector}</code>
          {map && ` — ${map.lines} lines over ${map.spanSeconds.toFixed(0)} s`}
        </span>
      </div>
      <ErrorMessage error={error} testId="map-error" />
      {!map && !error && <Loading what="Reading access logs" />}
      {map && map.edges.length === 0 && <div className="empty">No access logs with calls between services in this range.</div>}
      {map && map.edges.length > 0 && (
        <>
          <svg className="map-graph" data-testid="service-map" viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label={`${map.nodes.length} services, ${map.edges.length} calls`}>
            <defs>
              <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto-start-reverse">
                <path d="M 0 0 L 10 5 L 0 10 z" className="arrow-head" />
              </marker>
            </defs>
            {map.edges.map((e) => {
              const a = pos.get(e.from)!;
              const b = pos.get(e.to)!;
              const cls = e.errorShare > 0.05 ? 'edge bad' : e.errorShare > 0 ? 'edge warn' : 'edge';
              return (
                <g key={`${e.from}→${e.to}`} className={cls} data-testid="map-edge" onClick={() => openEdge(e)} tabIndex={0} role="link" aria-label={`${e.from} to ${e.to}`} onKeyDown={(ev) => ev.key === 'Enter' && openEdge(e)}>
                  <title>{`${e.from} → ${e.to}: ${e.ratePerSecond.toFixed(2)}/s, errors ${pct(e.errorShare)}, p95 ${e.p95Ms ?? '–'} ms, mTLS ${pct(e.mtlsShare)}`}</title>
                  <line x1={a.x + 70} y1={a.y} x2={b.x - 70} y2={b.y} markerEnd="url(#arrow)" strokeWidth={Math.min(1 + Math.log2(1 + e.ratePerSecond), 6)} />
                </g>
              );
            })}
            {map.nodes.map((n) => {
              const p = pos.get(n)!;
              return (
                <g key={n} className="node" data-testid="map-node">
                  <rect x={p.x - 70} y={p.y - 16} width={140} height={32} rx={6} />
                  <text x={p.x} y={p.y + 5} textAnchor="middle">
                    {n}
                  </text>
                </g>
              );
            })}
          </svg>
          <table className="edge-table" data-testid="edge-table">
            <thead>
              <tr>
                <th scope="col">caller → callee</th>
                <th scope="col">rate</th>
                <th scope="col">errors</th>
                <th scope="col">p95</th>
                <th scope="col">mTLS</th>
              </tr>
            </thead>
            <tbody>
              {map.edges.map((e) => (
                <tr key={`${e.from}→${e.to}`} className={e.errorShare > 0.05 ? 'bad' : ''}>
                  <td>
                    <button type="button" className="link" onClick={() => openEdge(e)}>
                      {e.from} → {e.to}
                    </button>
                  </td>
                  <td>{e.ratePerSecond.toFixed(2)}/s</td>
                  <td>{pct(e.errorShare)}</td>
                  <td>{e.p95Ms === undefined ? '–' : `${e.p95Ms} ms`}</td>
                  <td>{pct(e.mtlsShare)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
