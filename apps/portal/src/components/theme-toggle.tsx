import { Monitor, Moon, Sun } from "lucide-react";
import { cn } from "../lib/cn.ts";
import { type ThemeChoice, useTheme } from "../lib/theme.ts";

const labels: Record<ThemeChoice, string> = {
  system: "Theme: follow the system",
  light: "Theme: light",
  dark: "Theme: dark",
};

/** Cycles system → light → dark; the choice is kept in localStorage. */
export function ThemeToggle({ className }: { className?: string }) {
  const { choice, cycle } = useTheme();
  const Icon = choice === "dark" ? Moon : choice === "light" ? Sun : Monitor;
  return (
    <button
      type="button"
      onClick={cycle}
      title={labels[choice]}
      aria-label={`${labels[choice]}. Change theme`}
      className={cn(
        "inline-flex size-9 items-center justify-center rounded-lg text-fg-muted hover:bg-surface-muted hover:text-fg",
        className,
      )}
    >
      <Icon aria-hidden className="size-5" />
    </button>
  );
}
