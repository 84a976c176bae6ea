import type { WorkspaceKind } from "@neosc/core/workspace";
import { AppWindow, Globe, Monitor } from "lucide-react";
import { cn } from "../../lib/cn.ts";

const KIND_LABEL: Record<WorkspaceKind, string> = { desktop: "Desktop", app: "App", web: "Web" };

export function kindLabel(kind: WorkspaceKind): string {
  return KIND_LABEL[kind];
}

export function KindIcon({ kind, className }: { kind: WorkspaceKind; className?: string }) {
  const Icon = kind === "desktop" ? Monitor : kind === "app" ? AppWindow : Globe;
  return <Icon aria-hidden className={cn("size-5", className)} />;
}
