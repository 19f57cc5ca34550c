/**
 * Explore: write LogQL, pick a range, see the volume and the lines (or a
 * metric query's series), open a line's fields, filter by them, follow a
 * trace id, tail live, export. Everything that defines the view is in the
 * URL (q, from, to, refresh, limit).
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { isMetricQuery, parse, ParseError } from '@meshlog/logql';
import { LogqlEditor, type LabelSource } from '../components/LogqlEditor.js';
import { TimeRangePicker } from '../components/TimeRangePicker.js';
import { TimeChart, histogramOf, LEVEL_COLOURS } from '../components/Chart.js';
import { LogList, FieldSidebar, type FilterAction } from '../components/LogList.js';
import { ErrorMessage, Loading } from '../components/Feedback.js';
import { ApiFailure, labelNames, labelValues, queryRange, type LokiSeries } from '../lib/api.js';
import { rowsOfStreams, LEVELS, type Level, type LogRow } from '../lib/log-rows.js';
import { isRelative, msToNs, resolveRange, stepFor, type TimeRangeSpec } from '../lib/time-range.js';
import { addLabelMatcher, addLineFilter } from '../lib/query-edit.js';
import { exploreUrl, navigate } from '../lib/url-state.js';
import { download, toCsv, toNdjson } from '../lib/export.js';

const DEFAULT_QUERY = '{service_name="frontend"}';
const LIMITS = ['100', '1000', '5000'];
const REFRESH_MS: Record<string, number> = { '5s': 5000, '10s': 10_000, '30s': 30_000, '1m': 60_000, '5m': 300_000 };
/** Live tail keeps this many newest lines on screen. */
const TAIL_KEEP = 10_000;
/** Live tail reads at most this many lines per request. */
const TAIL_PAGE = 1000;
/** How far behind the newest line each live-tail poll looks again for late arrivals. */
const TAIL_GRACE_NS = 10_000_000_000n;

/** A tailed line's identity: the same line of the same stream at the same nanosecond is shown once. */
function tailIdentity(r: LogRow): string {
  return `${r.tsNs}\u0000${JSON.stringify(r.labels)}\u0000${r.line}`;
}

type Volume = { xs: number[]; series: { label: string; values: number[]; colour: string }[] };

type Result =
  | { kind: 'logs'; rows: LogRow[]; volume: Volume; volumeNote: string; tookMs: number }
  | { kind: 'metric'; xs: number[]; series: { label: string; values: (number | null)[] }[]; tookMs: number };

/** Set once a server refuses metric queries, so the volume is taken from the lines without asking again. */
let serverLacksMetrics = false;

export function Explore({ search }: { search: URLSearchParams }) {
  const q = search.get('q') ?? DEFAULT_QUERY;
  const range: TimeRangeSpec = { from: search.get('from') ?? 'now-1h', to: search.get('to') ?? 'now' };
  const refresh = search.get('refresh') ?? '';
  const limit = search.get('limit') ?? '1000';
  const [draft, setDraft] = useState(q);
  const [result, setResult] = useState<Result | undefined>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(false);
  const [tick, setTick] = useState(0);
  const [live, setLive] = useState(false);
  const [liveRows, setLiveRows] = useState<LogRow[]>([]);
  const [liveError, setLiveError] = useState<unknown>();

  useEffect(() => setDraft(q), [q]);

  const go = useCallback(
    (patch: { q?: string; from?: string; to?: string; refresh?: string; limit?: string }, replace = false) => {
      navigate(exploreUrl({ q: patch.q ?? q, from: patch.from ?? range.from, to: patch.to ?? range.to, refresh: patch.refresh ?? refresh, limit: patch.limit ?? limit }), replace);
    },
    [q, range.from, range.to, refresh, limit],
  );

  const run = (text: string): void => {
    if (text === q) setTick((t) => t + 1);
    else go({ q: text });
  };

  // Label completion over the current range, cached per range.
  const labelCache = useRef(new Map<string, Promise<string[]>>());
  const labels: LabelSource = useMemo(() => {
    const r = resolveRange(range);
    const span = r instanceof Error ? { startMs: Date.now() - 3_600_000, endMs: Date.now() } : r;
    const cached = (key: string, f: () => Promise<string[]>): Promise<string[]> => {
      let p = labelCache.current.get(key);
      if (!p) {
        p = f().catch((err: unknown) => {
          labelCache.current.delete(key);
          throw err;
        });
        labelCache.current.set(key, p);
      }
      return p;
    };
    return {
      names: () => cached(`names:${range.from}:${range.to}`, () => labelNames(msToNs(span.startMs), msToNs(span.endMs))),
      values: (name) => cached(`values:${name}:${range.from}:${range.to}`, () => labelValues(name, msToNs(span.startMs), msToNs(span.endMs))),
    };
  }, [range.from, range.to]);

  // The query itself.
  useEffect(() => {
    if (live) return;
    const abort = new AbortController();
    let expr;
    try {
      expr = parse(q);
    } catch (err) {
      setResult(undefined);
      setError(err instanceof ParseError ? new Error(`The query was not run: ${err.message}. The error is marked in the editor.`) : err);
      return;
    }
    const resolved = resolveRange(range);
    if (resolved instanceof Error) {
      setError(new Error(`The range is not valid: ${resolved.message}`));
      return;
    }
    const started = performance.now();
    const stepSeconds = stepFor(resolved);
    const startNs = msToNs(resolved.startMs);
    const endNs = msToNs(resolved.endMs);
    setLoading(true);
    setError(undefined);
    (async () => {
      if (isMetricQuery(expr)) {
        const data = await queryRange({ query: q, startNs, endNs, stepSeconds }, abort.signal);
        const series = data.resultType === 'matrix' || data.resultType === 'vector' ? (data.result as LokiSeries[]) : [];
        const xsSet = new Set<number>();
        for (const s of series) for (const [t] of s.values ?? (s.value ? [s.value] : [])) xsSet.add(Number(t));
        const xs = [...xsSet].sort((a, b) => a - b);
        const index = new Map(xs.map((x, i) => [x, i]));
        const out = series.map((s) => {
          const values: (number | null)[] = xs.map(() => null);
          for (const [t, v] of s.values ?? (s.value ? [s.value] : [])) values[index.get(Number(t))!] = Number(v);
          const name = Object.entries(s.metric).map(([k, v]) => `${k}="${v}"`).join(', ');
          return { label: `{${name}}`, values };
        });
        setResult({ kind: 'metric', xs, series: out, tookMs: performance.now() - started });
        return;
      }
      const data = await queryRange({ query: q, startNs, endNs, limit: Number(limit), direction: 'backward' }, abort.signal);
      const rows = data.resultType === 'streams' ? rowsOfStreams(data.result) : [];
      let volume: Volume = histogramOf(rows, resolved.startMs, resolved.endMs, stepSeconds);
      let volumeNote = `volume of the ${rows.length} lines shown`;
      if (!serverLacksMetrics) {
        try {
          const v = await queryRange({ query: `sum by (detected_level) (count_over_time(${q} [${stepSeconds}s]))`, startNs, endNs, stepSeconds }, abort.signal);
          if (v.resultType === 'matrix') {
            volume = volumeOfMatrix(v.result, resolved.startMs, resolved.endMs, stepSeconds);
            volumeNote = 'volume over the whole range';
          }
        } catch (err) {
          if (err instanceof ApiFailure && err.status >= 400 && err.status < 500) serverLacksMetrics = true;
          else if (!(err instanceof ApiFailure)) throw err;
        }
      }
      setResult({ kind: 'logs', rows, volume, volumeNote, tookMs: performance.now() - started });
    })()
      .catch((err: unknown) => {
        if (err instanceof DOMException && err.name === 'AbortError') return;
        setResult(undefined);
        setError(err);
      })
      .finally(() => {
        if (!abort.signal.aborted) setLoading(false);
      });
    return () => abort.abort();
  }, [q, range.from, range.to, limit, tick, live]);

  // Auto-refresh: a relative range moves forward; an absolute one would show the same lines again.
  useEffect(() => {
    const ms = REFRESH_MS[refresh];
    if (!ms || live || !isRelative(range)) return;
    const t = setInterval(() => setTick((n) => n + 1), ms);
    return () => clearInterval(t);
  }, [refresh, live, range.from, range.to]);

  // Live tail: polls once a second. Each poll reads again the last TAIL_GRACE_NS before the newest line
  // seen, so a line acknowledged late with an older timestamp (a slow sender, a clock behind) still
  // shows; lines already shown are skipped by identity. A full page is followed at once from its last
  // timestamp, so a burst of more than a page is read through, not cut.
  useEffect(() => {
    if (!live) return;
    let stopped = false;
    const startNs = msToNs(Date.now() - 5_000);
    setLiveRows([]);
    setLiveError(undefined);
    const poll = async (): Promise<void> => {
      const seen = new Map<string, bigint>();
      let fromNs = startNs;
      let newestNs = startNs;
      let frame = 0;
      while (!stopped) {
        const endNs = msToNs(Date.now());
        let full = false;
        try {
          const data = await queryRange({ query: q, startNs: fromNs, endNs, limit: TAIL_PAGE, direction: 'forward' });
          const page = data.resultType === 'streams' ? rowsOfStreams(data.result, 'forward') : [];
          const fresh = page.filter((r) => !seen.has(tailIdentity(r)));
          for (const r of fresh) seen.set(tailIdentity(r), BigInt(r.tsNs));
          if (fresh.length) {
            frame++;
            const shown = fresh.map((r) => ({ ...r, key: `t${frame}:${r.key}` })).reverse();
            setLiveRows((prev) => [...shown, ...prev].slice(0, TAIL_KEEP));
          }
          for (const r of page) if (BigInt(r.tsNs) > newestNs) newestNs = BigInt(r.tsNs);
          full = page.length >= TAIL_PAGE;
          const lastNs = page.length ? BigInt(page[page.length - 1]!.tsNs) : fromNs;
          // Past a full page: from its last timestamp (one nanosecond on, when the whole page is one nanosecond).
          fromNs = full ? (lastNs > fromNs ? lastNs : lastNs + 1n) : newestNs - TAIL_GRACE_NS > startNs ? newestNs - TAIL_GRACE_NS : startNs;
          for (const [k, ts] of seen) if (ts < fromNs) seen.delete(k);
          setLiveError(undefined);
        } catch (err) {
          setLiveError(err);
        }
        if (!full) await new Promise((r) => setTimeout(r, 1000));
      }
    };
    void poll();
    return () => {
      stopped = true;
    };
  }, [live, q]);

  const onFilter: FilterAction = useCallback(
    (f, negate) => go({ q: f.source === 'label' ? addLabelMatcher(q, f.name, f.value, negate) : addLineFilter(q, f.value, negate) }),
    [go, q],
  );
  const onOpenTrace = useCallback((id: string) => navigate(`/ui/trace/${id}`), []);
  const onZoom = useCallback((a: number, b: number) => go({ from: new Date(a).toISOString(), to: new Date(b).toISOString() }), [go]);

  const rows = live ? liveRows : result?.kind === 'logs' ? result.rows : [];
  return (
    <section className="explore" aria-label="Explore">
      <div className="query-bar">
        <LogqlEditor value={draft} onChange={setDraft} onRun={run} labels={labels} />
        <div className="query-actions">
          <button type="button" className="primary" data-testid="run-query" onClick={() => run(draft)} title="Run (Shift+Enter)">
            Run query
          </button>
          <button type="button" aria-pressed={live} data-testid="live-toggle" className={live ? 'live on' : 'live'} onClick={() => setLive(!live)}>
            {live ? '■ Stop live' : '▶ Live'}
          </button>
        </div>
      </div>
      <div className="toolbar">
        <TimeRangePicker range={range} refresh={refresh} onRange={(r) => go({ from: r.from, to: r.to })} onRefresh={(r) => go({ refresh: r }, true)} />
        <label>
          Limit{' '}
          <select value={limit} onChange={(e) => go({ limit: e.target.value })} data-testid="limit-select">
            {LIMITS.map((l) => (
              <option key={l}>{l}</option>
            ))}
          </select>
        </label>
        <span className="spacer" />
        <button type="button" disabled={rows.length === 0} onClick={() => download('meshlog-export.ndjson', 'application/x-ndjson', toNdjson(rows))} data-testid="export-ndjson">
          Export NDJSON
        </button>
        <button type="button" disabled={rows.length === 0} onClick={() => download('meshlog-export.csv', 'text/csv', toCsv(rows))} data-testid="export-csv">
          Export CSV
        </button>
      </div>
      <ErrorMessage error={error} testId="query-error" />
      {live && <ErrorMessage error={liveError} testId="live-error" />}
      {loading && !live && <Loading what="Running the query" />}
      {live && (
        <div className="live-banner" role="status" data-testid="live-status">
          Live: new lines of this query appear at the top ({liveRows.length} so far).
        </div>
      )}
      {!live && result?.kind === 'metric' && (
        <div className="panel">
          <h2>
            {result.series.length} series <small>({Math.round(result.tookMs)} ms)</small>
          </h2>
          {result.series.length === 0 ? <div className="empty">The query returned no series in this range.</div> : <TimeChart xs={result.xs} series={result.series} kind="lines" height={280} onZoom={onZoom} testId="metric-chart" />}
        </div>
      )}
      {!live && result?.kind === 'logs' && (
        <div className="panel">
          <h2>
            Log volume <small>({result.volumeNote}; drag across to zoom)</small>
          </h2>
          <TimeChart xs={result.volume.xs} series={result.volume.series} kind="stacked-bars" height={120} onZoom={onZoom} testId="histogram" />
          <p className="result-summary" data-testid="result-summary">
            {result.rows.length} lines in {Math.round(result.tookMs)} ms
            {result.rows.length === Number(limit) ? ` (the limit: raise it or narrow the range for more)` : ''}
          </p>
        </div>
      )}
      {(live || result?.kind === 'logs') && (
        <div className="logs-area">
          <FieldSidebar rows={rows} onFilter={onFilter} />
          <LogList rows={rows} onFilter={onFilter} onOpenTrace={onOpenTrace} />
        </div>
      )}
    </section>
  );
}

function volumeOfMatrix(series: LokiSeries[], startMs: number, endMs: number, stepSeconds: number): Volume {
  const stepMs = stepSeconds * 1000;
  const first = Math.floor(startMs / stepMs) * stepMs;
  const n = Math.max(1, Math.ceil((endMs - first) / stepMs));
  const xs = Array.from({ length: n }, (_, i) => (first + i * stepMs) / 1000);
  const counts = new Map<Level, number[]>();
  for (const s of series) {
    const raw = (s.metric['detected_level'] ?? s.metric['level'] ?? '').toLowerCase();
    const level: Level = raw === 'fatal' || raw === 'critical' ? 'error' : raw === 'trace' ? 'debug' : (LEVELS as string[]).includes(raw) ? (raw as Level) : 'unknown';
    let c = counts.get(level);
    if (!c) counts.set(level, (c = new Array<number>(n).fill(0)));
    for (const [t, v] of s.values ?? []) {
      const i = Math.floor((Number(t) * 1000 - first) / stepMs);
      if (i >= 0 && i < n) c[i]! += Number(v);
    }
  }
  return { xs, series: LEVELS.filter((l) => counts.has(l)).map((l) => ({ label: l, values: counts.get(l)!, colour: LEVEL_COLOURS[l] })) };
}
