import { CircleAlert, CircleCheck, Info, X } from "lucide-react";
import { Toast } from "radix-ui";
import { cn } from "../../lib/cn.ts";
import { closeToast, type ToastItem } from "./toast.ts";

const icons = {
  success: <CircleCheck aria-hidden className="size-5 text-success" />,
  error: <CircleAlert aria-hidden className="size-5 text-danger" />,
  info: <Info aria-hidden className="size-5 text-primary" />,
};

/** Radix toasts for the store in `toast.ts`; loaded only once there is something to show. */
export function Toaster({ items }: { items: ToastItem[] }) {
  return (
    <Toast.Provider swipeDirection="right" duration={5000}>
      {items.map((item) => (
        <Toast.Root
          key={item.id}
          open={item.open}
          onOpenChange={(open) => {
            if (!open) closeToast(item.id);
          }}
          type={item.tone === "error" ? "foreground" : "background"}
          duration={item.tone === "error" ? 8000 : 5000}
          className={cn(
            "toast flex items-start gap-3 rounded-xl border border-line bg-surface p-4 shadow-lg",
            item.tone === "error" && "border-danger/50",
          )}
        >
          {icons[item.tone]}
          <div className="min-w-0 flex-1">
            <Toast.Title className="text-sm font-semibold text-fg">{item.title}</Toast.Title>
            {item.description ? (
              <Toast.Description className="mt-0.5 text-sm text-fg-muted">
                {item.description}
              </Toast.Description>
            ) : null}
          </div>
          <Toast.Close aria-label="Dismiss" className="rounded-md p-1 text-fg-muted hover:bg-surface-muted">
            <X aria-hidden className="size-4" />
          </Toast.Close>
        </Toast.Root>
      ))}
      <Toast.Viewport className="fixed right-0 bottom-0 z-50 flex w-full max-w-sm flex-col gap-2 p-4 outline-none" />
    </Toast.Provider>
  );
}
