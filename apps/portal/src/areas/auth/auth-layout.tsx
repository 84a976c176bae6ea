import type { ReactNode } from "react";
import { Logo } from "../../components/brand.tsx";
import { ThemeToggle } from "../../components/theme-toggle.tsx";

/** Centred card for the pages people see before they are signed in. */
export function AuthLayout({
  title,
  subtitle,
  children,
}: {
  title: string;
  subtitle?: ReactNode;
  children: ReactNode;
}) {
  return (
    <div className="flex min-h-dvh flex-col">
      <header className="flex items-center justify-between px-4 py-3 sm:px-6">
        <Logo />
        <ThemeToggle />
      </header>
      <main className="flex flex-1 items-start justify-center px-4 pt-8 pb-16 sm:items-center sm:pt-0">
        <div className="w-full max-w-sm">
          <h1 className="text-2xl font-semibold tracking-tight text-fg">{title}</h1>
          {subtitle ? <p className="mt-1 text-sm text-fg-muted">{subtitle}</p> : null}
          <div className="mt-6 rounded-2xl border border-line bg-surface p-6 shadow-sm">{children}</div>
        </div>
      </main>
    </div>
  );
}
