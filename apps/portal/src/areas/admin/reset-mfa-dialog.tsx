import type { User } from "@neosc/core/user";
import { ConfirmDialog } from "../../components/ui/dialog.tsx";

/** Asks before removing someone's second factor: it signs them out everywhere and ends their sessions. */
export function ResetMfaDialog({
  user,
  pending,
  onCancel,
  onConfirm,
}: {
  user: User | null;
  pending: boolean;
  onCancel: () => void;
  onConfirm: (user: User) => void;
}) {
  return (
    <ConfirmDialog
      open={user !== null}
      onOpenChange={(open) => {
        if (!open) onCancel();
      }}
      title="Reset the second factor?"
      description={
        user
          ? `${user.email}'s authenticator and recovery codes stop working. They are signed out everywhere, their running workspaces end (“Second factor reset”), and they sign in with their password and set up two-factor again.`
          : ""
      }
      confirmLabel="Reset second factor"
      loading={pending}
      onConfirm={() => {
        if (user) onConfirm(user);
      }}
    />
  );
}
