import { cn } from "../lib/cn.ts";

export function Logo({ className }: { className?: string }) {
  return (
    <span className={cn("inline-flex items-center gap-2 font-semibold tracking-tight text-fg", className)}>
      <svg aria-hidden viewBox="0 0 32 32" className="size-7">
        <rect width="32" height="32" rx="8" className="fill-primary" />
        <path d="M9 23V9h3.2l7.6 9.4V9H23v14h-3.2L12.2 13.6V23z" className="fill-primary-fg" />
      </svg>
      <span>NeoSC</span>
    </span>
  );
}
