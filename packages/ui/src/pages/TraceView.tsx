/**
 * The trace view: the trace's spans as a waterfall (each bar placed by its
 * start and length within the trace, indented by depth under its parent)
 * and, beside it, every log line carrying the trace id (a line filter on the
 * id over the trace's time plus a margin).
 */
import { useEffect, useMemo, useState } from 'react';
import { trace as fetchTrace, queryRange, type ZipkinSpan } from '../lib/api.js';
import { rowsOfStreams, type LogRow } from '../lib/log-rows.js';
import { msToNs } from '../lib/time-range.js';
import { ErrorMessage, Loading } from '../components/Feedback.js';
import { LogList } from '../components/LogList.js';
import { exploreUrl, navigate } from '../lib/url-state.js';

interface PlacedSpan {
  span: ZipkinSpan;
  depth: number;
}

function order(spans: ZipkinSpan[]): PlacedSpan[] {
  const ids = new Set(spans.map((s) => s.id));
  const children = new Map<string, ZipkinSpan[]>();
  const roots: ZipkinSpan[] = [];
  for (const s of spans) {
    if (s.parentId && ids.has(s.parentId)) {
      const list = children.get(s.parentId) ?? [];
      list.push(s);
      children.set(s.parentId, list);
    } else roots.push(s);
  }
  const byStart = (a: ZipkinSpan, b: ZipkinSpan): number => (a.timestamp ?? 0) - (b.timestamp ?? 0);
  const out: PlacedSpan[] = [];
  const visit = (s: ZipkinSpan, depth: number): void => {
    out.push({ span: s, depth });
    for (const c of (children.get(s.id) ?? []).sort(byStart)) visit(c, depth + 1);
  };
  roots.sort(byStart).forEach((r) => visit(r, 0));
  return out;
}

export function TraceView({ traceId }: { traceId: string }) {
  const [spans, setSpans] = useState<ZipkinSpan[] | undefined>();
  const [error, setError] = useState<unknown>();
  const [logs, setLogs] = useState<LogRow[] | undefined>();
  const [logError, setLogError] = useState<unknown>();

  useEffect(() => {
    setSpans(undefined);
    setError(undefined);
    setLogs(undefined);
    setLogError(undefined);
    fetchTrace(traceId).then(setSpans, setError);
  }, [traceId]);

  const bounds = useMemo(() => {
    if (!spans?.length) return undefined;
    const start = Math.min(...spans.map((s) => s.timestamp ?? Infinity));
    const end = Math.max(...spans.map((s) => (s.timestamp ?? 0) + (s.duration ?? 0)));
    return { start, end, total: Math.max(end - start, 1) };
  }, [spans]);

  useEffect(() => {
    if (!bounds) return;
    // Zipkin times are microseconds; a minute either side catches logs written around the spans.
    const startMs = bounds.start / 1000 - 60_000;
    const endMs = bounds.end / 1000 + 60_000;
    queryRange({ query: `{service_name=~".+"} |= "${traceId}"`, startNs: msToNs(startMs), endNs: msToNs(endMs), limit: 1000, direction: 'forward' })
      .then((d) => setLogs(d.resultType === 'streams' ? rowsOfStreams(d.result, 'forward') : []), setLogError);
  }, [bounds, traceId]);

  const placed = useMemo(() => (spans ? order(spans) : []), [spans]);
  return (
    <section className="trace-view" aria-label={`Trace ${traceId}`}>
      <h1>
        Trace <code>{traceId}</code>
        {bounds && (
          <small>
            {' '}
            {spans!.length} spans, {(bounds.total / 1000).toFixed(1)} ms
          </small>
        )}
      </h1>
      <ErrorMessage error={error} testId="trace-error" />
      {!spans && !error && <Loading what="Loading the trace" />}
      <div className="trace-layout">
        {spans && bounds && (
          <div className="waterfall" data-testid="waterfall" role="table" aria-label="Spans">
            {placed.map(({ span, depth }) => {
              const left = (((span.timestamp ?? bounds.start) - bounds.start) / bounds.total) * 100;
              const width = Math.max(((span.duration ?? 0) / bounds.total) * 100, 0.3);
              const failed = span.tags?.['error'] !== undefined || Number(span.tags?.['http.status_code'] ?? span.tags?.['http.response.status_code'] ?? 0) >= 500;
              return (
                <div className="span-row" role="row" key={span.id} data-testid="span-row">
                  <div className="span-name" role="cell" style={{ paddingLeft: `${depth * 12 + 4}px` }} title={span.name}>
                    <strong>{span.localEndpoint?.serviceName ?? '?'}</strong> {span.name}
                  </div>
                  <div className="span-track" role="cell">
                    <div className={`span-bar kind-${(span.kind ?? 'internal').toLowerCase()}${failed ? ' failed' : ''}`} style={{ left: `${left}%`, width: `${width}%` }} />
                    <span className="span-duration">{((span.duration ?? 0) / 1000).toFixed(2)} ms</span>
                  </div>
                </div>
              );
            })}
          </div>
        )}
        <div className="trace-logs" data-testid="trace-logs">
          <h2>
            Logs of this trace{' '}
            <button type="button" className="link" onClick={() => navigate(exploreUrl({ q: `{service_name=~".+"} |= "${traceId}"`, from: bounds ? new Date(bounds.start / 1000 - 60_000).toISOString() : 'now-1h', to: bounds ? new Date(bounds.end / 1000 + 60_000).toISOString() : 'now' }))}>
              open in Explore
            </button>
          </h2>
          <ErrorMessage error={logError} testId="trace-logs-error" />
          {spans && !logs && !logError && <Loading what="Loading the trace's logs" />}
          {logs && <LogList rows={logs} onFilter={() => undefined} onOpenTrace={(id) => navigate(`/ui/trace/${id}`)} />}
        </div>
      </div>
    </section>
  );
}
