import { type FormEvent, useState } from "react";
import { Button } from "../../components/ui/button.tsx";
import { Modal } from "../../components/ui/dialog.tsx";
import { FormError, TextField } from "../../components/ui/field.tsx";
import { readApiError } from "../../lib/api-error.ts";
import { describeError } from "../../lib/problem.ts";

export type StepUpInput = { code: string } | { recoveryCode: string };

const RECOVERY_PATTERN = /^[a-z0-9]{10}$/;

/**
 * Asked when a launch needs two factors and this sign-in used one: a code from the app (or a
 * recovery code) raises the sign-in, and `verify` then carries on with the launch.
 */
export function StepUpDialog({
  workspaceName,
  verify,
  onCancel,
}: {
  /** The workspace being launched; null keeps the dialog closed. */
  workspaceName: string | null;
  verify: (input: StepUpInput) => Promise<void>;
  onCancel: () => void;
}) {
  const [useRecovery, setUseRecovery] = useState(false);
  const [value, setValue] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  function reset() {
    setUseRecovery(false);
    setValue("");
    setError(null);
    setFormError(null);
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    const recoveryCode = value.replace(/[\s-]/g, "").toLowerCase();
    if (useRecovery ? !RECOVERY_PATTERN.test(recoveryCode) : !/^\d{6}$/.test(value)) {
      setError(
        useRecovery
          ? "Enter one of your recovery codes (ten letters and digits)"
          : "Enter the six digits from your authenticator app",
      );
      return;
    }
    setError(null);
    setPending(true);
    try {
      await verify(useRecovery ? { recoveryCode } : { code: value });
      reset();
    } catch (failure) {
      const apiError = readApiError(failure);
      if (apiError.domain?.reason === "invalid_totp") {
        setValue("");
        setError(
          useRecovery
            ? "That recovery code is not right or was used already"
            : "That code is not right or has expired — try the current one",
        );
      } else setFormError(describeError(apiError).message);
    } finally {
      setPending(false);
    }
  }

  return (
    <Modal
      open={workspaceName !== null}
      onOpenChange={(open) => {
        if (!open) {
          reset();
          onCancel();
        }
      }}
      title="Confirm it's you"
      description={`${workspaceName ?? "This workspace"} needs a sign-in with two factors. Enter a code to continue the launch — no need to sign out.`}
    >
      <form noValidate onSubmit={(event) => void submit(event)} className="space-y-4">
        {useRecovery ? (
          <TextField
            key="recovery"
            label="Recovery code"
            autoComplete="off"
            autoFocus
            maxLength={16}
            placeholder="xxxxx-xxxxx"
            value={value}
            onChange={(event) => setValue(event.target.value)}
            errors={error ? [error] : undefined}
            hint="Each recovery code works once."
            className="font-mono tracking-widest"
          />
        ) : (
          <TextField
            key="totp"
            label="Code from your authenticator app"
            inputMode="numeric"
            autoComplete="one-time-code"
            autoFocus
            maxLength={6}
            placeholder="123456"
            value={value}
            onChange={(event) => setValue(event.target.value.replace(/\D/g, ""))}
            errors={error ? [error] : undefined}
            className="font-mono text-lg tracking-[0.4em]"
          />
        )}
        <FormError>{formError}</FormError>
        <div className="flex flex-wrap items-center justify-between gap-2">
          <Button
            variant="ghost"
            size="sm"
            onClick={() => {
              setUseRecovery(!useRecovery);
              setValue("");
              setError(null);
            }}
          >
            {useRecovery ? "Use the authenticator app" : "Use a recovery code"}
          </Button>
          <Button type="submit" loading={pending}>
            Verify and launch
          </Button>
        </div>
      </form>
    </Modal>
  );
}
