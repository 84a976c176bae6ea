import { ROLE_LABEL, type Role } from "@neosc/core/roles";
import { Badge } from "./ui/feedback.tsx";

/** A role as people read it ("Staff" for the stored `neosc`); admins stand out. */
export function RoleBadge({ role, className }: { role: Role; className?: string }) {
  return (
    <Badge tone={role === "admin" ? "primary" : "neutral"} {...(className ? { className } : {})}>
      {ROLE_LABEL[role]}
    </Badge>
  );
}
