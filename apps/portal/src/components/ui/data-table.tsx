import { type ReactNode, useLayoutEffect, useRef } from "react";
import { cn } from "../../lib/cn.ts";
import { Card } from "./feedback.tsx";

export interface Column {
  label: string;
  /** Read by screen readers only (an actions column). */
  srOnly?: boolean;
  /** Extra classes for the header cell: `hidden md:table-cell`, `text-right`, a width. */
  className?: string;
}

/**
 * Gives every body cell its column's name (`data-label`), which the phone layout shows beside
 * the value; rows may be added later by the rows' own state (an opened audit entry), so it
 * follows the body's changes. A row of one spanning cell (details, "nothing found") has none.
 */
function useCellLabels(columns: readonly Column[]) {
  const body = useRef<HTMLTableSectionElement>(null);
  useLayoutEffect(() => {
    const element = body.current;
    if (element === null) return;
    const label = () => {
      for (const row of Array.from(element.rows)) {
        if (row.cells.length === 1 && row.cells[0]?.colSpan !== 1) continue;
        Array.from(row.cells).forEach((cell, index) => {
          const column = columns[index];
          const text = column && !column.srOnly ? column.label : "";
          if (cell.dataset.label !== text) cell.dataset.label = text;
        });
      }
    };
    label();
    const observer = new MutationObserver(label);
    observer.observe(element, { childList: true, subtree: true });
    return () => observer.disconnect();
  }, [columns]);
  return body;
}

/**
 * A table in a card. On a phone (below `md`) each row becomes a block of "label value" lines
 * (styles.css `.data-table`), so nothing is cut off and nothing scrolls sideways; from `md` up it
 * is a table that may scroll sideways if it must.
 */
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
  const body = useCellLabels(columns);
  return (
    <Card className="overflow-hidden">
      <div className="md:overflow-x-auto">
        <table className="data-table w-full text-left text-sm">
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
          <tbody ref={body} className="divide-y divide-line">
            {children}
          </tbody>
        </table>
      </div>
    </Card>
  );
}
