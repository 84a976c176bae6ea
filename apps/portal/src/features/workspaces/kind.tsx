import type { WorkspaceKind } from "@neosc/core/workspace";
import { AppWindow, Globe, Monitor, SquareTerminal } from "lucide-react";
import { cn } from "../../lib/cn.ts";

const KIND_LABEL: Record<WorkspaceKind, string> = {
  desktop: "Desktop",
  app: "App",
  web: "Web",
  terminal: "Terminal",
};
const KIND_ICON: Record<WorkspaceKind, typeof Monitor> = {
  desktop: Monitor,
  app: AppWindow,
  web: Globe,
  terminal: SquareTerminal,
};

export function kindLabel(kind: WorkspaceKind): string {
  return KIND_LABEL[kind];
}

export function KindIcon({ kind, className }: { kind: WorkspaceKind; className?: string }) {
  const Icon = KIND_ICON[kind];
  return <Icon aria-hidden className={cn("size-5", className)} />;
}
