import { ShieldAlert } from "lucide-react";
import { Link, Navigate, Outlet } from "react-router";
import { useMe } from "../../app/me-context.tsx";
import { buttonClass } from "../../components/ui/button.tsx";
import { EmptyState } from "../../components/ui/feedback.tsx";
import { canUseAdminArea } from "../../lib/navigation.ts";

/** The admin area: hidden from other roles here, and enforced by the API regardless. */
export function AdminLayout() {
  const me = useMe();
  if (!canUseAdminArea(me.user.role)) {
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
