import { ChangePasswordInputSchema } from "@neosc/core/auth";
import { type FormEvent, useState } from "react";
import { Button } from "../../components/ui/button.tsx";
import { FormError, TextField } from "../../components/ui/field.tsx";
import { readApiError } from "../../lib/api-error.ts";
import { describeError } from "../../lib/problem.ts";
import { useForm } from "../../lib/use-form.ts";
import { parseNewPassword } from "../../lib/validation.ts";

const EMPTY = { currentPassword: "", newPassword: "", confirm: "" };

export interface ChangePasswordValues {
  currentPassword: string;
  newPassword: string;
}

/** Current + new password (twice). `change` throws the API's error on refusal. */
export function ChangePasswordForm({
  change,
  submitLabel = "Change password",
  currentLabel = "Current password",
}: {
  change: (values: ChangePasswordValues) => Promise<void>;
  submitLabel?: string;
  currentLabel?: string;
}) {
  const { values, setValues, field, setErrors, formError, setFormError } = useForm(EMPTY);
  const [pending, setPending] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    const { data, fieldErrors } = parseNewPassword(ChangePasswordInputSchema, values, "newPassword");
    if (values.newPassword && values.newPassword === values.currentPassword) {
      fieldErrors.newPassword = [
        ...(fieldErrors.newPassword ?? []),
        "Choose a password different from the current one",
      ];
    }
    if (data === null || Object.keys(fieldErrors).length > 0) {
      setErrors(fieldErrors);
      return;
    }
    setErrors({});
    setPending(true);
    try {
      await change(data);
      setValues(EMPTY);
    } catch (error) {
      const apiError = readApiError(error);
      if (apiError.domain?.reason === "invalid_credentials")
        setErrors({ currentPassword: ["This is not your current password"] });
      else if (Object.keys(apiError.fieldErrors).length > 0) setErrors(apiError.fieldErrors);
      else setFormError(describeError(apiError).message);
    } finally {
      setPending(false);
    }
  }

  return (
    <form noValidate onSubmit={(event) => void submit(event)} className="space-y-4">
      <TextField
        label={currentLabel}
        type="password"
        name="currentPassword"
        autoComplete="current-password"
        {...field("currentPassword")}
      />
      <TextField
        label="New password"
        type="password"
        name="newPassword"
        autoComplete="new-password"
        hint="At least 10 characters."
        {...field("newPassword")}
      />
      <TextField
        label="Repeat new password"
        type="password"
        name="confirm"
        autoComplete="new-password"
        {...field("confirm")}
      />
      <FormError>{formError}</FormError>
      <Button type="submit" loading={pending}>
        {submitLabel}
      </Button>
    </form>
  );
}
