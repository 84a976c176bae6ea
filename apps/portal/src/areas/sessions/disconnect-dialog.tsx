import type { WorkspaceSession } from "@neosc/core/session";
import { useState } from "react";
import { ConfirmDialog } from "../../components/ui/dialog.tsx";
import { TextAreaField } from "../../components/ui/field.tsx";

/** Asks before ending a session; an optional note is recorded with it. */
export function DisconnectDialog({
  session,
  ownSession,
  pending,
  onCancel,
  onConfirm,
}: {
  session: WorkspaceSession | null;
  ownSession: boolean;
  pending: boolean;
  onCancel: () => void;
  onConfirm: (note: string) => void;
}) {
  const [note, setNote] = useState("");
  return (
    <ConfirmDialog
      open={session !== null}
      onOpenChange={(open) => {
        if (!open) {
          setNote("");
          onCancel();
        }
      }}
      title="Disconnect this session?"
      description={
        session
          ? ownSession
            ? `${session.workspaceName} will close and anything unsaved in it may be lost.`
            : `${session.userEmail}'s ${session.workspaceName} session will close. They will see that an administrator ended it.`
          : ""
      }
      confirmLabel="Disconnect"
      loading={pending}
      onConfirm={() => onConfirm(note.trim())}
    >
      <TextAreaField
        label="Note (optional)"
        hint="Recorded in the audit log with the disconnect."
        maxLength={500}
        value={note}
        onChange={(event) => setNote(event.target.value)}
      />
    </ConfirmDialog>
  );
}
