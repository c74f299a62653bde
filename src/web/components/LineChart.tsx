import { useEffect, useRef, useState } from 'react';

// A small SVG line chart drawn at the width of its box (ResizeObserver), so its labels stay
// legible on a phone: time on x, one or more series on y, a legend with each series' last value.

export interface Series {
  name: string;
  color: string;
  points: { t: number; v: number }[];
  /** Draw as steps (a price holds until it changes) rather than straight segments. */
  step?: boolean;
  /** Dots at the points (sparse data, e.g. lease prices). */
  dots?: boolean;
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  // Quarters of these are round numbers too: the grid has five lines.
  for (const m of [1, 2, 4, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const fmtNum = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(0) : String(Number(v.toPrecision(3))));
const fmtTime = (t: number): string => new Date(t).toLocaleTimeString([], { hour12: false, hour: '2-digit', minute: '2-digit', second: '2-digit' });

export function LineChart({
  series,
  unit,
  height = 200,
  format = fmtNum,
  empty = 'No data yet',
  label,
  id,
}: {
  series: Series[];
  unit: string;
  height?: number;
  format?: (v: number) => string;
  empty?: string;
  label: string;
  id?: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(600);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(([e]) => setWidth(Math.max(240, Math.floor(e.contentRect.width))));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const all = series.flatMap((s) => s.points);
  const padL = 44;
  const padR = 10;
  const padT = 10;
  const padB = 24;
  const w = width - padL - padR;
  const h = height - padT - padB;
  let body = null;
  if (all.length === 0) {
    body = (
      <text x={width / 2} y={height / 2} textAnchor="middle" className="chart-empty">
        {empty}
      </text>
    );
  } else {
    let t0 = Math.min(...all.map((p) => p.t));
    // A price holds until it changes: step series reach to now.
    let t1 = Math.max(...all.map((p) => p.t), series.some((s) => s.step && s.points.length) ? Date.now() : 0);
    if (t1 - t0 < 10_000) t0 = t1 - 10_000;
    if (t1 === t0) t1 = t0 + 1;
    const yMax = niceMax(Math.max(...all.map((p) => p.v)) * 1.1);
    const x = (t: number): number => padL + ((t - t0) / (t1 - t0)) * w;
    const y = (v: number): number => padT + h - (v / yMax) * h;
    const yTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * yMax);
    const xCount = Math.max(2, Math.min(6, Math.floor(w / 90)));
    const xTicks = Array.from({ length: xCount }, (_, i) => t0 + ((t1 - t0) * i) / (xCount - 1));
    body = (
      <>
        {yTicks.map((v) => (
          <g key={v}>
            <line x1={padL} x2={width - padR} y1={y(v)} y2={y(v)} className="grid" />
            <text x={padL - 6} y={y(v) + 4} textAnchor="end" className="tick">
              {format(v)}
            </text>
          </g>
        ))}
        {xTicks.map((t, i) => (
          <text key={t} x={x(t)} y={height - 6} textAnchor={i === 0 ? 'start' : i === xTicks.length - 1 ? 'end' : 'middle'} className="tick">
            {fmtTime(t)}
          </text>
        ))}
        {series.map((s) => {
          const pts = [...s.points].sort((a, b) => a.t - b.t);
          if (pts.length === 0) return null;
          let d = '';
          pts.forEach((p, i) => {
            if (i === 0) d += `M${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`;
            else if (s.step) d += `H${x(p.t).toFixed(1)}V${y(p.v).toFixed(1)}`;
            else d += `L${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`;
          });
          if (s.step) d += `H${x(t1).toFixed(1)}`;
          return (
            <g key={s.name}>
              {pts.length > 1 || s.step ? <path d={d} fill="none" stroke={s.color} strokeWidth={2} strokeLinejoin="round" /> : null}
              {s.dots || pts.length === 1
                ? pts.map((p, i) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: points may coincide (leases of one block at one price), and a dot is a stateless circle drawn at its point.
                    <circle key={i} cx={x(p.t)} cy={y(p.v)} r={3.5} fill={s.color} />
                  ))
                : null}
            </g>
          );
        })}
      </>
    );
  }
  return (
    <figure className="chart" ref={box} data-chart={id}>
      <svg width={width} height={height} role="img" aria-label={label}>
        {body}
      </svg>
      <figcaption>
        {series.map((s) => {
          const last = s.points.length ? [...s.points].sort((a, b) => a.t - b.t)[s.points.length - 1].v : undefined;
          return (
            <span key={s.name} className="legend">
              <i style={{ background: s.color }} />
              {s.name}
              {last !== undefined ? (
                <b>
                  {' '}
                  {format(last)} {unit}
                </b>
              ) : null}
            </span>
          );
        })}
      </figcaption>
    </figure>
  );
}
