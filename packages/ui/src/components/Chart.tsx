/**
 * Time charts on uPlot (small, canvas, fast): the log volume histogram,
 * stacked by level, and metric query results as lines. Dragging across
 * either selects a time span and zooms the range to it (the caller moves
 * the URL's range, so the zoom can be shared and undone with Back).
 * uPlot sizes its elements through element.style, which the strict CSP
 * allows (it forbids style attributes in markup and inline <style>).
 */
import { useEffect, useRef, useState } from 'react';
import uPlot, { type AlignedData, type Options } from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { LEVELS, type Level } from '../lib/log-rows.js';

export const LEVEL_COLOURS: Record<Level, string> = {
  error: '#d93f3f',
  warn: '#d98f1f',
  info: '#2f8f5b',
  debug: '#6b7fb3',
  unknown: '#8a8f98',
};
const SERIES_COLOURS = ['#3b7dd8', '#d9573b', '#2f9e74', '#a05cd6', '#c7a21f', '#d6458f', '#4aa3b5', '#7a8a3a'];

interface ChartProps {
  /** Seconds since the epoch, ascending. */
  xs: number[];
  series: { label: string; values: (number | null)[]; colour?: string }[];
  kind: 'stacked-bars' | 'lines';
  height: number;
  onZoom?(startMs: number, endMs: number): void;
  testId: string;
}

function useWidth(ref: React.RefObject<HTMLDivElement | null>): number {
  const [w, setW] = useState(600);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setW(el.clientWidth));
    ro.observe(el);
    setW(el.clientWidth);
    return () => ro.disconnect();
  }, [ref, setW]);
  return w;
}

export function TimeChart({ xs, series, kind, height, onZoom, testId }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const zoom = useRef(onZoom);
  zoom.current = onZoom;
  const width = useWidth(box);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    let data: AlignedData;
    const uSeries: Options['series'] = [{}];
    if (kind === 'stacked-bars') {
      // Stack by summing: series i is drawn as the sum of 0..i, top (largest) first so each shows its own band.
      const sums: (number | null)[][] = [];
      let acc = xs.map(() => 0);
      for (const s of series) {
        acc = acc.map((a, j) => a + (s.values[j] ?? 0));
        sums.push([...acc]);
      }
      const order = series.map((_, i) => i).reverse();
      data = [xs, ...order.map((i) => sums[i]!)];
      const bars = uPlot.paths.bars!({ size: [0.9, 60], align: 0 });
      for (const i of order) {
        const s = series[i]!;
        uSeries.push({ label: s.label, stroke: s.colour, fill: s.colour, width: 0, paths: bars, points: { show: false }, value: (_u, _v, _si, idx) => String(idx === null ? '' : (s.values[idx] ?? 0)) });
      }
    } else {
      data = [xs, ...series.map((s) => s.values)];
      series.forEach((s, i) => uSeries.push({ label: s.label, stroke: s.colour ?? SERIES_COLOURS[i % SERIES_COLOURS.length], width: 1.5, points: { show: false } }));
    }
    const dark = document.documentElement.dataset['theme'] === 'dark';
    const axis = { stroke: dark ? '#c9ced6' : '#3a3f47', grid: { stroke: dark ? '#2c3139' : '#e4e7eb', width: 1 }, ticks: { stroke: dark ? '#2c3139' : '#e4e7eb' } };
    const opts: Options = {
      width: Math.max(width, 200),
      height,
      series: uSeries,
      axes: [axis, { ...axis, size: 50 }],
      legend: { show: kind === 'lines' || series.length > 1 },
      cursor: { drag: { x: true, y: false, setScale: false } },
      scales: { x: { time: true } },
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 3) return;
            const a = u.posToVal(u.select.left, 'x');
            const b = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            zoom.current?.(a * 1000, b * 1000);
          },
        ],
      },
    };
    plot.current?.destroy();
    plot.current = new uPlot(opts, data, el);
    return () => {
      plot.current?.destroy();
      plot.current = undefined;
    };
  }, [xs, series, kind, height, width]);

  return <div className="chart" ref={box} data-testid={testId} />;
}

/** Buckets rows by time and level for the histogram (when the server has no volume query). */
export function histogramOf(rows: { tsMs: number; level: Level }[], startMs: number, endMs: number, stepSeconds: number): { xs: number[]; series: { label: string; values: number[]; colour: string }[] } {
  const stepMs = stepSeconds * 1000;
  const first = Math.floor(startMs / stepMs) * stepMs;
  const n = Math.max(1, Math.ceil((endMs - first) / stepMs));
  const xs = Array.from({ length: n }, (_, i) => (first + i * stepMs) / 1000);
  const counts: Record<Level, number[]> = { error: [], warn: [], info: [], debug: [], unknown: [] };
  for (const l of LEVELS) counts[l] = new Array<number>(n).fill(0);
  for (const r of rows) {
    const i = Math.floor((r.tsMs - first) / stepMs);
    if (i >= 0 && i < n) counts[r.level][i]!++;
  }
  // Bottom to top: errors at the base, where the eye looks first.
  const series = LEVELS.filter((l) => counts[l].some((c) => c > 0)).map((l) => ({ label: l, values: counts[l], colour: LEVEL_COLOURS[l] }));
  return { xs, series };
}
