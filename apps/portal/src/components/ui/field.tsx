import {
  type InputHTMLAttributes,
  type ReactNode,
  type Ref,
  type SelectHTMLAttributes,
  type TextareaHTMLAttributes,
  useId,
} from "react";
import { cn } from "../../lib/cn.ts";

export const controlClass =
  "block w-full rounded-lg border border-line bg-surface px-3 py-2 text-sm text-fg shadow-sm placeholder:text-fg-muted/70 disabled:opacity-60 aria-invalid:border-danger";

interface FieldShellProps {
  label: ReactNode;
  hint?: ReactNode;
  errors?: readonly string[] | undefined;
  className?: string;
  /** A group of controls (radios, checkboxes): the label names the group instead of one input. */
  group?: boolean;
  children: (ids: {
    id: string;
    labelId: string;
    describedBy: string | undefined;
    invalid: boolean;
  }) => ReactNode;
}

/** Label, control, hint and error messages wired together for assistive technology. */
export function FieldShell({ label, hint, errors, className, group, children }: FieldShellProps) {
  const id = useId();
  const labelId = `${id}-label`;
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const invalid = Boolean(errors && errors.length > 0);
  const describedBy = [hint ? hintId : null, invalid ? errorId : null].filter(Boolean).join(" ") || undefined;
  const messages = (
    <>
      {hint ? (
        <p id={hintId} className="text-xs text-fg-muted">
          {hint}
        </p>
      ) : null}
      {invalid ? (
        <p id={errorId} className="text-xs font-medium text-danger">
          {errors?.join(" · ")}
        </p>
      ) : null}
    </>
  );
  if (group) {
    return (
      <fieldset aria-describedby={describedBy} className={cn("space-y-1.5", className)}>
        <legend id={labelId} className="mb-1.5 block text-sm font-medium text-fg">
          {label}
        </legend>
        {children({ id, labelId, describedBy, invalid })}
        {messages}
      </fieldset>
    );
  }
  return (
    <div className={cn("space-y-1.5", className)}>
      <label id={labelId} htmlFor={id} className="block text-sm font-medium text-fg">
        {label}
      </label>
      {children({ id, labelId, describedBy, invalid })}
      {messages}
    </div>
  );
}

interface TextFieldProps extends Omit<InputHTMLAttributes<HTMLInputElement>, "id"> {
  ref?: Ref<HTMLInputElement>;
  label: ReactNode;
  hint?: ReactNode;
  errors?: readonly string[] | undefined;
  wrapperClassName?: string;
}

export function TextField({ label, hint, errors, wrapperClassName, className, ...rest }: TextFieldProps) {
  return (
    <FieldShell label={label} hint={hint} errors={errors} className={wrapperClassName}>
      {({ id, describedBy, invalid }) => (
        <input
          id={id}
          aria-describedby={describedBy}
          aria-invalid={invalid || undefined}
          className={cn(controlClass, className)}
          {...rest}
        />
      )}
    </FieldShell>
  );
}

interface TextAreaFieldProps extends Omit<TextareaHTMLAttributes<HTMLTextAreaElement>, "id"> {
  label: ReactNode;
  hint?: ReactNode;
  errors?: readonly string[] | undefined;
  wrapperClassName?: string;
}

export function TextAreaField({
  label,
  hint,
  errors,
  wrapperClassName,
  className,
  ...rest
}: TextAreaFieldProps) {
  return (
    <FieldShell label={label} hint={hint} errors={errors} className={wrapperClassName}>
      {({ id, describedBy, invalid }) => (
        <textarea
          id={id}
          aria-describedby={describedBy}
          aria-invalid={invalid || undefined}
          className={cn(controlClass, "min-h-20", className)}
          {...rest}
        />
      )}
    </FieldShell>
  );
}

interface SelectFieldProps extends Omit<SelectHTMLAttributes<HTMLSelectElement>, "id"> {
  label: ReactNode;
  hint?: ReactNode;
  errors?: readonly string[] | undefined;
  wrapperClassName?: string;
}

export function SelectField({
  label,
  hint,
  errors,
  wrapperClassName,
  className,
  children,
  ...rest
}: SelectFieldProps) {
  return (
    <FieldShell label={label} hint={hint} errors={errors} className={wrapperClassName}>
      {({ id, describedBy, invalid }) => (
        <select
          id={id}
          aria-describedby={describedBy}
          aria-invalid={invalid || undefined}
          className={cn(controlClass, "pr-8", className)}
          {...rest}
        >
          {children}
        </select>
      )}
    </FieldShell>
  );
}

/** A form-level message (above the submit button). */
export function FormError({ children }: { children: ReactNode }) {
  if (!children) return null;
  return (
    <div
      role="alert"
      className="rounded-lg border border-danger/40 bg-danger-soft px-3 py-2 text-sm text-danger"
    >
      {children}
    </div>
  );
}
