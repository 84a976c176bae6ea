import { ShieldAlert } from "lucide-react";
import { Link, Navigate, Outlet, useLocation } from "react-router";
import { useMe } from "../../app/me-context.tsx";
import { buttonClass } from "../../components/ui/button.tsx";
import { EmptyState } from "../../components/ui/feedback.tsx";
import { auditorMayOpen, canUseAdminArea } from "../../lib/navigation.ts";

/** The admin area: hidden from other roles here, and enforced by the API regardless. */
export function AdminLayout() {
  const me = useMe();
  const { pathname } = useLocation();
  const auditing = me.user.role === "auditor" && auditorMayOpen(pathname);
  if (!canUseAdminArea(me.user.role) && !auditing) {
    return (
      <EmptyState
        title="Administrators only"
        icon={<ShieldAlert aria-hidden className="size-8" />}
        action={
          <Link to="/" className={buttonClass("secondary", "sm")}>
            Back home
          </Link>
        }
      >
        This part of NeoSC is for administrators.
      </EmptyState>
    );
  }
  return <Outlet />;
}

export function AdminIndex() {
  return <Navigate replace to="/admin/workspaces" />;
}
