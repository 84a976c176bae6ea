import { useState } from "react";
import { type ApiError, readApiError, serverFieldErrors } from "./api-error.ts";
import { describeError } from "./problem.ts";
import { collapseListErrors, type FieldErrors } from "./validation.ts";

type StringKeys<V> = { [K in keyof V]: V[K] extends string ? K : never }[keyof V];

/** A form's errors per field and its one message for the whole form (above the submit button). */
export function useFormErrors() {
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string | null>(null);

  /**
   * A refused submit: the server's field errors (and a refusal that names its field) go on their
   * fields; with none, the refusal in words goes above the submit button.
   */
  function showRefusal(
    error: unknown,
    {
      describe = (e) => describeError(e).message,
      prefix = "",
      collapseLists = false,
    }: { describe?: (error: ApiError) => string; prefix?: string; collapseLists?: boolean } = {},
  ) {
    const apiError = readApiError(error);
    const onFields = serverFieldErrors(apiError, describe, prefix);
    const fields = collapseLists ? collapseListErrors(onFields) : onFields;
    setErrors(fields);
    if (Object.keys(fields).length === 0) setFormError(describeError(apiError).message);
    else if (apiError.formErrors.length > 0) setFormError(apiError.formErrors.join(" "));
  }

  return { errors, setErrors, formError, setFormError, showRefusal };
}

/** `useFormErrors` plus the values; `field(key)` wires an input or select to a string value and its errors. */
export function useForm<V extends object>(initial: V | (() => V)) {
  const [values, setValues] = useState<V>(initial);
  const formErrors = useFormErrors();

  const set = <K extends keyof V>(key: K, value: V[K]) =>
    setValues((current) => ({ ...current, [key]: value }));

  const field = <K extends StringKeys<V>>(key: K) => ({
    value: values[key] as string,
    onChange: (event: { target: { value: string } }) => set(key, event.target.value as V[K]),
    errors: formErrors.errors[key as string],
  });

  return { values, setValues, set, field, ...formErrors };
}
