import type { ReactNode } from "react";
import { cn } from "../../lib/cn.ts";
import { Card } from "./feedback.tsx";

export interface Column {
  label: string;
  /** Read by screen readers only (an actions column). */
  srOnly?: boolean;
  /** Extra classes for the header cell: `hidden md:table-cell`, `text-right`, a width. */
  className?: string;
}

/** A table in a card that scrolls sideways on narrow screens; the rows come as children. */
export function DataTable({
  columns,
  dense = false,
  children,
}: {
  columns: readonly Column[];
  /** Tighter header padding, for tables with many columns. */
  dense?: boolean;
  children: ReactNode;
}) {
  return (
    <Card className="overflow-hidden">
      <div className="overflow-x-auto">
        <table className="w-full text-left text-sm">
          <thead className="border-b border-line bg-surface-muted text-xs text-fg-muted uppercase">
            <tr>
              {columns.map((column) => (
                <th
                  key={column.label}
                  scope="col"
                  className={cn(dense ? "px-3" : "px-4", "py-2 font-medium", column.className)}
                >
                  {column.srOnly ? <span className="sr-only">{column.label}</span> : column.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody className="divide-y divide-line">{children}</tbody>
        </table>
      </div>
    </Card>
  );
}
