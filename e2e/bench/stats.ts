/** Latency samples of one procedure (or one row), in milliseconds, with the statuses seen. */
export class Samples {
  private readonly values: number[] = [];
  readonly statuses: Record<string, number> = {};
  errors = 0;

  record(ms: number, status: number | "timeout" | "error") {
    this.values.push(ms);
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
    if (typeof status !== "number" || status < 200 || status >= 300) this.errors += 1;
  }

  get count() {
    return this.values.length;
  }

  summary(): ProcedureSummary {
    const sorted = [...this.values].sort((a, b) => a - b);
    return {
      count: sorted.length,
      p50: round(percentile(sorted, 50)),
      p99: round(percentile(sorted, 99)),
      max: round(sorted.at(-1) ?? 0),
      errors: this.errors,
      statuses: this.statuses,
    };
  }
}

export interface ProcedureSummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  statuses: Record<string, number>;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? 0;
}

export const round = (value: number, digits = 1) => {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
};
