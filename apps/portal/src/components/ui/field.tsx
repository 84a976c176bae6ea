import {
  type InputHTMLAttributes,
  type ReactNode,
  type Ref,
  type SelectHTMLAttributes,
  type TextareaHTMLAttributes,
  useId,
} from "react";
import { cn } from "../../lib/cn.ts";
import { Button } from "./button.tsx";

export const controlClass =
  "block w-full rounded-lg border border-line bg-surface px-3 py-2 text-sm text-fg shadow-sm placeholder:text-fg-muted/70 disabled:opacity-60 aria-invalid:border-danger";

/** What the control inside a field needs to be named and described by it. */
export interface ControlProps {
  id: string;
  "aria-describedby": string | undefined;
  "aria-invalid": true | undefined;
}

interface FieldProps {
  label: ReactNode;
  hint?: ReactNode;
  errors?: readonly string[] | undefined;
}

interface FieldShellProps extends FieldProps {
  className?: string | undefined;
  /** A group of controls (radios, checkboxes): the label names the group instead of one input. */
  group?: boolean;
  children: (control: ControlProps) => ReactNode;
}

/** Label, control, hint and error messages wired together for assistive technology. */
export function FieldShell({ label, hint, errors, className, group, children }: FieldShellProps) {
  const id = useId();
  const labelId = `${id}-label`;
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const invalid = Boolean(errors && errors.length > 0);
  const describedBy = [hint ? hintId : null, invalid ? errorId : null].filter(Boolean).join(" ") || undefined;
  const control: ControlProps = { id, "aria-describedby": describedBy, "aria-invalid": invalid || undefined };
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
        {children(control)}
        {messages}
      </fieldset>
    );
  }
  return (
    <div className={cn("space-y-1.5", className)}>
      <label id={labelId} htmlFor={id} className="block text-sm font-medium text-fg">
        {label}
      </label>
      {children(control)}
      {messages}
    </div>
  );
}

/** The field's own props; `wrapperClassName` styles the field, `className` the control. */
type FieldOf<Attributes> = Omit<Attributes, "id"> & FieldProps & { wrapperClassName?: string };

/** A field's props split into the shell's (label, hint, errors, wrapper class) and the control's. */
function splitField<P extends FieldOf<object>>({ label, hint, errors, wrapperClassName, ...control }: P) {
  return { shell: { label, hint, errors, className: wrapperClassName }, control };
}

export function TextField({
  className,
  ...props
}: FieldOf<InputHTMLAttributes<HTMLInputElement>> & { ref?: Ref<HTMLInputElement> }) {
  const { shell, control } = splitField(props);
  return (
    <FieldShell {...shell}>
      {(wiring) => <input {...wiring} className={cn(controlClass, className)} {...control} />}
    </FieldShell>
  );
}

export function TextAreaField({ className, ...props }: FieldOf<TextareaHTMLAttributes<HTMLTextAreaElement>>) {
  const { shell, control } = splitField(props);
  return (
    <FieldShell {...shell}>
      {(wiring) => <textarea {...wiring} className={cn(controlClass, "min-h-20", className)} {...control} />}
    </FieldShell>
  );
}

export function SelectField({ className, ...props }: FieldOf<SelectHTMLAttributes<HTMLSelectElement>>) {
  const { shell, control } = splitField(props);
  return (
    <FieldShell {...shell}>
      {(wiring) => <select {...wiring} className={cn(controlClass, "pr-8", className)} {...control} />}
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

/** The end of a form in a dialog: its form-level message, Cancel, and the submit button. */
export function FormActions({
  error,
  onCancel,
  pending,
  submitLabel,
}: {
  error: ReactNode;
  onCancel: () => void;
  pending: boolean;
  submitLabel: ReactNode;
}) {
  return (
    <>
      <FormError>{error}</FormError>
      <div className="flex justify-end gap-2">
        <Button variant="secondary" onClick={onCancel}>
          Cancel
        </Button>
        <Button type="submit" loading={pending}>
          {submitLabel}
        </Button>
      </div>
    </>
  );
}
