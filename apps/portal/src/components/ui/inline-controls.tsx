import { Search } from "lucide-react";
import type { InputHTMLAttributes, SelectHTMLAttributes } from "react";
import { cn } from "../../lib/cn.ts";
import { controlClass } from "./field.tsx";

type InputProps = Omit<InputHTMLAttributes<HTMLInputElement>, "type" | "className">;

/** A search box above a list; its label is for screen readers, the placeholder says the rest. */
export function SearchInput({
  label,
  className,
  ...rest
}: InputProps & { label: string; className?: string }) {
  return (
    <label className={cn("relative w-full", className)}>
      <span className="sr-only">{label}</span>
      <Search
        aria-hidden
        className="pointer-events-none absolute top-1/2 left-3 size-4 -translate-y-1/2 text-fg-muted"
      />
      <input type="search" className={cn(controlClass, "pl-9")} {...rest} />
    </label>
  );
}

type SelectProps = Omit<SelectHTMLAttributes<HTMLSelectElement>, "className">;

/** A select in a toolbar or a table cell, where the label is for screen readers only. */
export function InlineSelect({
  label,
  className,
  selectClassName,
  children,
  ...rest
}: SelectProps & { label: string; className?: string; selectClassName?: string }) {
  return (
    <label className={className}>
      <span className="sr-only">{label}</span>
      <select className={cn(controlClass, selectClassName)} {...rest}>
        {children}
      </select>
    </label>
  );
}
