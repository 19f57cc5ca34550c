/**
 * The virtualized log list: only the rows in view (plus a few) are in the
 * DOM, so 100,000 lines scroll like 100 (@tanstack/react-virtual, with rows
 * measured as they render because an expanded row is taller). A row opens
 * with a click or Enter to show every field with filter for / out buttons,
 * and a trace id in the line links to the trace view.
 */
import { memo, useRef, useState } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import { fieldsOf, type LogRow } from '../lib/log-rows.js';
import { formatTime } from '../lib/time-range.js';

export interface FilterAction {
  (field: { name: string; value: string; source: 'label' | 'line' }, negate: boolean): void;
}

interface Props {
  rows: LogRow[];
  onFilter: FilterAction;
  onOpenTrace(traceId: string): void;
}

export function LogList({ rows, onFilter, onOpenTrace }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const [open, setOpen] = useState<Set<string>>(() => new Set());
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => 24,
    overscan: 12,
    getItemKey: (i) => rows[i]!.key,
  });
  const toggle = (key: string): void =>
    setOpen((prev) => {
      const next = new Set(prev);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });

  if (rows.length === 0) return <div className="empty">No lines in this range. Widen the range or loosen the query.</div>;
  return (
    <div className="log-list" ref={scroller} data-testid="log-list" role="list" aria-label={`${rows.length} log lines`} tabIndex={0}>
      <div className="log-list-inner" style={{ height: virtualizer.getTotalSize() }}>
        {virtualizer.getVirtualItems().map((item) => {
          const row = rows[item.index]!;
          return (
            <div key={item.key} data-index={item.index} ref={virtualizer.measureElement} className="log-row-slot" style={{ transform: `translateY(${item.start}px)` }}>
              <LogLine row={row} expanded={open.has(row.key)} onToggle={toggle} onFilter={onFilter} onOpenTrace={onOpenTrace} />
            </div>
          );
        })}
      </div>
    </div>
  );
}

const LogLine = memo(function LogLine({ row, expanded, onToggle, onFilter, onOpenTrace }: { row: LogRow; expanded: boolean; onToggle(key: string): void; onFilter: FilterAction; onOpenTrace(id: string): void }) {
  return (
    <div className={`log-row level-${row.level}${expanded ? ' expanded' : ''}`} role="listitem" data-testid="log-row">
      <div
        className="log-summary"
        role="button"
        tabIndex={0}
        aria-expanded={expanded}
        onClick={() => onToggle(row.key)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' || e.key === ' ') {
            e.preventDefault();
            onToggle(row.key);
          }
        }}
      >
        <span className="level-bar" aria-label={row.level} />
        <time className="ts">{formatTime(row.tsMs)}</time>
        <span className="svc">{row.labels['service_name'] ?? ''}</span>
        <span className="line">{row.line}</span>
      </div>
      {expanded && <RowDetails row={row} onFilter={onFilter} onOpenTrace={onOpenTrace} />}
    </div>
  );
});

function RowDetails({ row, onFilter, onOpenTrace }: { row: LogRow; onFilter: FilterAction; onOpenTrace(id: string): void }) {
  const fields = fieldsOf(row);
  return (
    <div className="log-details" data-testid="log-details">
      {row.traceId && (
        <button type="button" className="trace-link" data-testid="trace-link" onClick={() => onOpenTrace(row.traceId!)}>
          Open trace {row.traceId}
        </button>
      )}
      <table>
        <tbody>
          {fields.map((f) => (
            <tr key={`${f.source}:${f.name}`}>
              <td className="field-actions">
                <button type="button" title={`Filter for ${f.name}=${f.value}`} aria-label={`Filter for ${f.name}=${f.value}`} onClick={() => onFilter(f, false)}>
                  +
                </button>
                <button type="button" title={`Filter out ${f.name}=${f.value}`} aria-label={`Filter out ${f.name}=${f.value}`} onClick={() => onFilter(f, true)}>
                  −
                </button>
              </td>
              <th scope="row" className={f.source === 'label' ? 'label-field' : ''}>
                {f.name}
              </th>
              <td className="field-value">{f.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

interface SidebarProps {
  rows: LogRow[];
  onFilter: FilterAction;
}

/** Fields and their top values over the first lines (parsing every line of 100,000 would stall the page). */
export function FieldSidebar({ rows, onFilter }: SidebarProps) {
  const sample = rows.slice(0, 1000);
  const counts = new Map<string, { source: 'label' | 'line'; values: Map<string, number> }>();
  for (const r of sample) {
    for (const f of fieldsOf(r)) {
      let c = counts.get(f.name);
      if (!c) counts.set(f.name, (c = { source: f.source, values: new Map() }));
      c.values.set(f.value, (c.values.get(f.value) ?? 0) + 1);
    }
  }
  const names = [...counts.keys()].sort((a, b) => (counts.get(a)!.source === counts.get(b)!.source ? a.localeCompare(b) : counts.get(a)!.source === 'label' ? -1 : 1));
  return (
    <aside className="field-sidebar" aria-label="Fields" data-testid="field-sidebar">
      <h3>Fields <small>(first {sample.length} lines)</small></h3>
      {names.map((name) => {
        const c = counts.get(name)!;
        const top = [...c.values.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
        return (
          <details key={name}>
            <summary>
              {name} <small>{c.values.size}</small>
            </summary>
            <ul>
              {top.map(([value, n]) => (
                <li key={value}>
                  <button type="button" className="link" title={`Filter for ${name}=${value}`} onClick={() => onFilter({ name, value, source: c.source }, false)}>
                    {value || '""'}
                  </button>
                  <span className="share">{Math.round((n / sample.length) * 100)}%</span>
                </li>
              ))}
            </ul>
          </details>
        );
      })}
    </aside>
  );
}
