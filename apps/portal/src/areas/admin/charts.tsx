import { type ReactNode, useId } from "react";
import { cn } from "../../lib/cn.ts";
import { formatCount } from "../../lib/format.ts";

export interface Point {
  /** Shown under the axis (may be empty to skip a tick). */
  label: string;
  /** Full description for the tooltip and the screen-reader table. */
  title: string;
  value: number;
}

/** A round upper bound for the y axis: 1, 2 or 5 × 10ⁿ, at least 4. */
export function niceMax(value: number): number {
  if (value <= 4) return 4;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) {
    if (step * magnitude >= value) return step * magnitude;
  }
  return 10 * magnitude;
}

const TONES = {
  primary: { fill: "fill-primary", stroke: "stroke-primary", text: "text-primary" },
  danger: { fill: "fill-danger", stroke: "stroke-danger", text: "text-danger" },
};

type Tone = keyof typeof TONES;

/** The y axis' top and each point's share of the width, in the 0–100 view box. */
function scale(points: Point[]) {
  return {
    max: niceMax(Math.max(0, ...points.map((p) => p.value))),
    slot: 100 / Math.max(points.length, 1),
  };
}

/**
 * What every chart has around its own marks: y labels, grid, x labels, one hover target with a
 * tooltip per point, and the numbers as a table for screen readers.
 */
function Plot({
  points,
  max,
  slot,
  caption,
  children,
}: {
  points: Point[];
  max: number;
  slot: number;
  caption: string;
  children: ReactNode;
}) {
  return (
    <figure className="w-full">
      <div className="flex gap-2">
        <div
          aria-hidden
          className="flex h-40 flex-col justify-between text-right text-[10px] text-fg-muted tabular-nums"
        >
          <span>{formatCount(max)}</span>
          <span>{formatCount(max / 2)}</span>
          <span>0</span>
        </div>
        <div className="relative h-40 flex-1">
          <svg
            aria-hidden
            viewBox="0 0 100 100"
            preserveAspectRatio="none"
            className="absolute inset-0 size-full overflow-visible"
          >
            {[0, 50, 100].map((y) => (
              <line
                key={y}
                x1={0}
                x2={100}
                y1={y}
                y2={y}
                className="stroke-line"
                strokeWidth={1}
                vectorEffect="non-scaling-stroke"
                strokeDasharray={y === 100 ? undefined : "3 3"}
              />
            ))}
            {children}
            {points.map((point, index) => (
              <rect
                key={`${point.title}-${index}`}
                x={index * slot}
                width={slot}
                y={0}
                height={100}
                className="fill-transparent hover:fill-fg/5"
              >
                <title>{`${point.title}: ${formatCount(point.value)}`}</title>
              </rect>
            ))}
          </svg>
        </div>
      </div>
      <div aria-hidden className="relative mt-1 ml-8 h-4 text-[10px] text-fg-muted">
        {points.map((point, index) =>
          point.label ? (
            <span
              key={`${point.title}-${index}`}
              className="absolute top-0 -translate-x-1/2 whitespace-nowrap"
              style={{ left: `${((index + 0.5) / points.length) * 100}%` }}
            >
              {point.label}
            </span>
          ) : null,
        )}
      </div>
      <figcaption className="sr-only">{caption}</figcaption>
      {/* Tables ignore the 1px box of sr-only, so the wrapper hides it. */}
      <div className="sr-only">
        <table>
          <caption>{caption}</caption>
          <tbody>
            {points.map((point, index) => (
              <tr key={`${point.title}-${index}`}>
                <th scope="row">{point.title}</th>
                <td>{point.value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}

/** Vertical bars, one per bucket; hand-rolled SVG so the admin chunk stays small. */
export function BarChart({
  points,
  caption,
  tone = "primary",
}: {
  points: Point[];
  caption: string;
  tone?: Tone;
}) {
  const { max, slot } = scale(points);
  return (
    <Plot points={points} max={max} slot={slot} caption={caption}>
      {points.map((point, index) => {
        const height = (point.value / max) * 100;
        return (
          <rect
            key={`${point.title}-${index}`}
            x={index * slot + slot * 0.15}
            width={slot * 0.7}
            y={100 - height}
            height={height}
            rx={0.6}
            className={cn(TONES[tone].fill, "opacity-85")}
          />
        );
      })}
    </Plot>
  );
}

/** A line with a soft area under it. */
export function LineChart({
  points,
  caption,
  tone = "danger",
}: {
  points: Point[];
  caption: string;
  tone?: Tone;
}) {
  const gradient = useId().replaceAll(":", "");
  const { max, slot } = scale(points);
  const coords = points.map(
    (point, index) => [index * slot + slot / 2, 100 - (point.value / max) * 100] as const,
  );
  const line = coords.map(([x, y]) => `${x},${y}`).join(" ");
  const first = coords[0];
  const last = coords[coords.length - 1];
  const area = first && last ? `M${first[0]},100 L${line.replaceAll(" ", " L")} L${last[0]},100 Z` : "";
  return (
    <Plot points={points} max={max} slot={slot} caption={caption}>
      <g className={TONES[tone].text}>
        <defs>
          <linearGradient id={gradient} x1="0" x2="0" y1="0" y2="1">
            <stop offset="0%" stopColor="currentColor" stopOpacity={0.25} />
            <stop offset="100%" stopColor="currentColor" stopOpacity={0} />
          </linearGradient>
        </defs>
        <path d={area} fill={`url(#${gradient})`} />
        <polyline
          points={line}
          fill="none"
          className={TONES[tone].stroke}
          strokeWidth={2}
          strokeLinejoin="round"
          strokeLinecap="round"
          vectorEffect="non-scaling-stroke"
        />
      </g>
    </Plot>
  );
}

/** Horizontal bars with labels, for rankings and bins (in the order given). */
export function RankingBars({
  items,
  empty,
  label,
  tone = "primary",
}: {
  items: Array<{ label: string; value: number }>;
  empty: string;
  /** The list's name for screen readers. */
  label?: string;
  tone?: Tone;
}) {
  if (items.length === 0) return <p className="text-sm text-fg-muted">{empty}</p>;
  const max = Math.max(1, ...items.map((item) => item.value));
  const bar = tone === "danger" ? "bg-danger" : "bg-primary";
  return (
    <ol aria-label={label} className="space-y-2.5">
      {items.map((item) => (
        <li key={item.label}>
          <div className="mb-1 flex justify-between gap-2 text-sm">
            <span className="truncate text-fg">{item.label}</span>
            <span className="text-fg-muted tabular-nums">{formatCount(item.value)}</span>
          </div>
          <div className="h-2 rounded-full bg-surface-muted">
            <div className={cn("h-2 rounded-full", bar)} style={{ width: `${(item.value / max) * 100}%` }} />
          </div>
        </li>
      ))}
    </ol>
  );
}
