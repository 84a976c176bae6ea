import { useSyncExternalStore } from "react";
import { readApiError } from "../../lib/api-error.ts";
import { describeError } from "../../lib/problem.ts";

export type ToastTone = "success" | "error" | "info";

export interface ToastItem {
  id: number;
  tone: ToastTone;
  title: string;
  description?: string;
  open: boolean;
}

let items: ToastItem[] = [];
let nextId = 1;
const listeners = new Set<() => void>();

function emit() {
  for (const listener of listeners) listener();
}

/** Shows a toast from anywhere (a mutation's result, an event handler). */
export function toast(input: { title: string; description?: string; tone?: ToastTone }) {
  const item: ToastItem = { id: nextId++, tone: input.tone ?? "success", title: input.title, open: true };
  if (input.description) item.description = input.description;
  items = [...items.slice(-4), item];
  emit();
}

/** A failed call as an error toast, explained the way `describeError` explains it. */
export function toastError(error: unknown) {
  const problem = describeError(readApiError(error));
  toast({ tone: "error", title: problem.title, description: problem.message });
}

export function closeToast(id: number) {
  items = items.map((item) => (item.id === id ? { ...item, open: false } : item));
  emit();
  window.setTimeout(() => {
    items = items.filter((item) => item.id !== id);
    emit();
  }, 200);
}

function subscribe(listener: () => void) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useToasts(): ToastItem[] {
  return useSyncExternalStore(
    subscribe,
    () => items,
    () => items,
  );
}
