import type { Role } from "@neosc/core/roles";
import {
  Bot,
  Building2,
  ChartColumn,
  House,
  LayoutGrid,
  type LucideIcon,
  MonitorPlay,
  ScrollText,
  ShieldCheck,
  UserRound,
  Users,
} from "lucide-react";
import { NavLink } from "react-router";
import { cn } from "../../lib/cn.ts";
import { type NavIcon, type NavItem, navigationFor } from "../../lib/navigation.ts";

const ICONS: Record<NavIcon, LucideIcon> = {
  home: House,
  sessions: MonitorPlay,
  account: UserRound,
  workspaces: LayoutGrid,
  policies: ShieldCheck,
  audit: ScrollText,
  users: Users,
  organizations: Building2,
  stats: ChartColumn,
  serviceAccounts: Bot,
};

function NavList({ items, onNavigate }: { items: NavItem[]; onNavigate: (() => void) | undefined }) {
  return (
    <ul className="space-y-0.5">
      {items.map((item) => {
        const Icon = ICONS[item.icon];
        return (
          <li key={item.to}>
            <NavLink
              to={item.to}
              end={item.end ?? false}
              onClick={onNavigate}
              className={({ isActive }) =>
                cn(
                  "flex items-center gap-3 rounded-lg px-3 py-2 text-sm font-medium transition-colors focus-visible:-outline-offset-2",
                  isActive
                    ? "bg-primary-soft text-primary"
                    : "text-fg-muted hover:bg-surface-muted hover:text-fg",
                )
              }
            >
              <Icon aria-hidden className="size-4" />
              {item.label}
            </NavLink>
          </li>
        );
      })}
    </ul>
  );
}

/** The main navigation; the admin section only exists for admins. */
export function AppNav({ role, onNavigate }: { role: Role; onNavigate?: () => void }) {
  const { main, admin } = navigationFor(role);
  return (
    <nav aria-label="Main" className="space-y-6">
      <NavList items={main} onNavigate={onNavigate} />
      {admin.length > 0 ? (
        <div>
          <p className="mb-1 px-3 text-xs font-semibold tracking-wide text-fg-muted uppercase">
            Administration
          </p>
          <NavList items={admin} onNavigate={onNavigate} />
        </div>
      ) : null}
    </nav>
  );
}
