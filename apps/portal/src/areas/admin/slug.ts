import { useState } from "react";
import type { useForm } from "../../lib/use-form.ts";

export function slugify(text: string): string {
  return text
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 64);
}

type Form<V extends { name: string; slug: string }> = Pick<
  ReturnType<typeof useForm<V>>,
  "values" | "setValues" | "errors"
>;

/**
 * Input props for a name and its slug: the slug follows the name until someone types in it (an
 * entry being edited keeps the slug it has).
 */
export function useNameAndSlug<V extends { name: string; slug: string }>(form: Form<V>, editing: boolean) {
  const [slugTouched, setSlugTouched] = useState(editing);
  const { values, setValues, errors } = form;
  return {
    name: {
      value: values.name,
      errors: errors.name,
      onChange: (event: { target: { value: string } }) => {
        const name = event.target.value;
        setValues((current) => ({ ...current, name, slug: slugTouched ? current.slug : slugify(name) }));
      },
    },
    slug: {
      value: values.slug,
      errors: errors.slug,
      onChange: (event: { target: { value: string } }) => {
        setSlugTouched(true);
        setValues((current) => ({ ...current, slug: event.target.value }));
      },
    },
  };
}
