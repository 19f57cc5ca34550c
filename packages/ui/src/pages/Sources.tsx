/**
 * Sources: every sender seen in the last 24 hours (by `service_instance_id`,
 * one per agent, sidecar or app instance), with its rate and error lines
 * over the last 5 minutes and when it last sent. A source with nothing in
 * the last 5 minutes is silent and is listed first, marked. Last-seen comes
 * from one newest-line query per source (a few at a time); rate and errors
 * from the newest lines of all sources.
 */
import { useEffect, useState } from 'react';
import { labelValues, queryRange } from '../lib/api.js';
import { rowsOfStreams } from '../lib/log-rows.js';
import { formatTime, msToNs } from '../lib/time-range.js';
import { ErrorMessage, Loading } from '../components/Feedback.js';
import { exploreUrl, navigate } from '../lib/url-state.js';

const LABEL = 'service_instance_id';
const WINDOW_MS = 5 * 60_000;

interface SourceRow {
  id: string;
  lastSeenMs: number | undefined;
  lines: number;
  errors: number;
}

export function Sources() {
  const [rows, setRows] = useState<SourceRow[] | undefined>();
  const [error, setError] = useState<unknown>();
  const [sampleSpan, setSampleSpan] = useState(0);

  useEffect(() => {
    let cancelled = false;
    (async () => {
      const now = Date.now();
      const ids = await labelValues(LABEL, msToNs(now - 86_400_000), msToNs(now));
      const sample = await queryRange({ query: `{${LABEL}=~".+"}`, startNs: msToNs(now - WINDOW_MS), endNs: msToNs(now), limit: 5000, direction: 'backward' });
      const recent = sample.resultType === 'streams' ? rowsOfStreams(sample.result) : [];
      const oldest = recent.length ? recent[recent.length - 1]!.tsMs : now - WINDOW_MS;
      const span = recent.length >= 5000 ? now - oldest : WINDOW_MS;
      const byId = new Map<string, SourceRow>(ids.map((id) => [id, { id, lastSeenMs: undefined, lines: 0, errors: 0 }]));
      for (const r of recent) {
        const id = r.labels[LABEL];
        if (!id) continue;
        const s = byId.get(id) ?? { id, lastSeenMs: undefined, lines: 0, errors: 0 };
        byId.set(id, s);
        s.lines++;
        if (r.level === 'error') s.errors++;
        s.lastSeenMs = Math.max(s.lastSeenMs ?? 0, r.tsMs);
      }
      // Sources not in the sample: ask for their newest line, four at a time.
      const missing = [...byId.values()].filter((s) => s.lastSeenMs === undefined);
      for (let i = 0; i < missing.length; i += 4) {
        await Promise.all(
          missing.slice(i, i + 4).map(async (s) => {
            const d = await queryRange({ query: `{${LABEL}="${s.id}"}`, startNs: msToNs(now - 86_400_000), endNs: msToNs(now), limit: 1, direction: 'backward' });
            const newest = d.resultType === 'streams' ? rowsOfStreams(d.result)[0] : undefined;
            if (newest) s.lastSeenMs = newest.tsMs;
          }),
        );
        if (cancelled) return;
      }
      if (cancelled) return;
      setSampleSpan(span);
      setRows([...byId.values()].sort((a, b) => Number(isSilent(a, now)) * -1 + Number(isSilent(b, now)) || a.id.localeCompare(b.id)));
    })().catch((err: unknown) => !cancelled && setError(err));
    return () => {
      cancelled = true;
    };
  }, []);

  const now = Date.now();
  return (
    <section className="sources" aria-label="Sources">
      <h1>Sources</h1>
      <p className="hint">
        Senders seen in the last 24 hours by <code>{LABEL}</code>. Rate and errors over the newest lines ({Math.round(sampleSpan / 1000)} s); silent = nothing in the last 5 minutes.
      </p>
      <ErrorMessage error={error} testId="sources-error" />
      {!rows && !error && <Loading what="Listing sources" />}
      {rows && (
        <table className="sources-table" data-testid="sources-table">
          <thead>
            <tr>
              <th scope="col">source</th>
              <th scope="col">rate</th>
              <th scope="col">error lines</th>
              <th scope="col">last seen</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((s) => (
              <tr key={s.id} className={isSilent(s, now) ? 'silent' : ''}>
                <td>
                  <button type="button" className="link" onClick={() => navigate(exploreUrl({ q: `{${LABEL}="${s.id}"}`, from: 'now-24h' }))}>
                    {s.id}
                  </button>
                  {isSilent(s, now) && <span className="badge">silent</span>}
                </td>
                <td>{sampleSpan ? ((s.lines / sampleSpan) * 1000).toFixed(2) : '0'}/s</td>
                <td>{s.errors}</td>
                <td>{s.lastSeenMs ? formatTime(s.lastSeenMs) : 'not in 24 h'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function isSilent(s: SourceRow, now: number): boolean {
  return s.lastSeenMs === undefined || now - s.lastSeenMs > WINDOW_MS;
}
