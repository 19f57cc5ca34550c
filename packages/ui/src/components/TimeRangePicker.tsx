/**
 * The range picker: relative choices (last 5 minutes … 7 days), absolute
 * from/to fields that take `now-2h` or ISO times, and auto-refresh. Errors
 * in a typed time show next to the field that has them.
 */
import { useState } from 'react';
import { RELATIVE_CHOICES, describeRange, resolveTime, type TimeRangeSpec } from '../lib/time-range.js';

export const REFRESH_CHOICES = ['', '5s', '10s', '30s', '1m', '5m'];

interface Props {
  range: TimeRangeSpec;
  refresh: string;
  onRange(r: TimeRangeSpec): void;
  onRefresh(r: string): void;
}

export function TimeRangePicker({ range, refresh, onRange, onRefresh }: Props) {
  const [open, setOpen] = useState(false);
  const [from, setFrom] = useState(range.from);
  const [to, setTo] = useState(range.to);
  const fromErr = resolveTime(from, Date.now());
  const toErr = resolveTime(to, Date.now());
  return (
    <div className="range-picker">
      <button type="button" aria-expanded={open} aria-haspopup="dialog" data-testid="range-button" onClick={() => { setFrom(range.from); setTo(range.to); setOpen(!open); }}>
        {describeRange(range)} ▾
      </button>
      <label className="refresh">
        <span className="sr-only">Auto-refresh</span>
        <select value={refresh} onChange={(e) => onRefresh(e.target.value)} aria-label="Auto-refresh" data-testid="refresh-select">
          {REFRESH_CHOICES.map((c) => (
            <option key={c} value={c}>
              {c ? `every ${c}` : 'no refresh'}
            </option>
          ))}
        </select>
      </label>
      {open && (
        <div className="range-popover" role="dialog" aria-label="Time range" onKeyDown={(e) => e.key === 'Escape' && setOpen(false)}>
          <ul className="relative-choices">
            {RELATIVE_CHOICES.map((c) => (
              <li key={c.from}>
                <button type="button" onClick={() => { onRange({ from: c.from, to: 'now' }); setOpen(false); }}>
                  {c.label}
                </button>
              </li>
            ))}
          </ul>
          <form
            className="absolute-range"
            onSubmit={(e) => {
              e.preventDefault();
              if (fromErr instanceof Error || toErr instanceof Error) return;
              onRange({ from: from.trim(), to: to.trim() });
              setOpen(false);
            }}
          >
            <label>
              From <input value={from} onChange={(e) => setFrom(e.target.value)} aria-invalid={fromErr instanceof Error} data-testid="range-from" />
            </label>
            {fromErr instanceof Error && <span className="field-error" role="alert">{fromErr.message}</span>}
            <label>
              To <input value={to} onChange={(e) => setTo(e.target.value)} aria-invalid={toErr instanceof Error} data-testid="range-to" />
            </label>
            {toErr instanceof Error && <span className="field-error" role="alert">{toErr.message}</span>}
            <button type="submit">Apply</button>
          </form>
        </div>
      )}
    </div>
  );
}
