import type { WorkspaceSession } from "@neosc/core/session";
import { useState } from "react";
import { ConfirmDialog } from "../../components/ui/dialog.tsx";
import { TextAreaField } from "../../components/ui/field.tsx";

/**
 * Asks before ending a session ("End session"; "Disconnect" in the viewer only closes the viewer);
 * an optional note is recorded with it.
 */
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
      title="End this session?"
      description={
        session
          ? ownSession
            ? `${session.workspaceName} will stop and anything unsaved in it may be lost.`
            : `${session.userEmail}'s ${session.workspaceName} session will stop. They will see “Ended by an administrator”.`
          : ""
      }
      confirmLabel="End session"
      loading={pending}
      onConfirm={() => onConfirm(note.trim())}
    >
      <TextAreaField
        label="Note (optional)"
        hint="Recorded in the audit log with the end."
        maxLength={500}
        value={note}
        onChange={(event) => setNote(event.target.value)}
      />
    </ConfirmDialog>
  );
}
