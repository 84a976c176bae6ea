import { useQueryClient } from "@tanstack/react-query";
import { LogOut, Menu, X } from "lucide-react";
import { Dialog } from "radix-ui";
import { useEffect, useState } from "react";
import { Link, Navigate, Outlet, useLocation } from "react-router";
import { MeContext } from "../../app/me-context.tsx";
import { Logo } from "../../components/brand.tsx";
import { RoleBadge } from "../../components/role-badge.tsx";
import { ThemeToggle } from "../../components/theme-toggle.tsx";
import { Button, type ButtonSize, type ButtonVariant } from "../../components/ui/button.tsx";
import { ErrorState, PageLoading } from "../../components/ui/feedback.tsx";
import { toast } from "../../components/ui/toast.ts";
import { readApiError } from "../../lib/api-error.ts";
import { describeError } from "../../lib/problem.ts";
import { hasSignedInHint, setSignedInHint } from "../../lib/signed-in-hint.ts";
import { trpc } from "../../lib/trpc.ts";
import { AppNav } from "./app-nav.tsx";

/** Ends the login (server-side revocation), forgets cached data and leaves for the sign-in page. */
export function useSignOut() {
  const queryClient = useQueryClient();
  const config = trpc.auth.config.useQuery(undefined, { staleTime: Number.POSITIVE_INFINITY });
  const logout = trpc.auth.logout.useMutation();
  const signOut = async (everywhere: boolean) => {
    try {
      await logout.mutateAsync({ everywhere });
    } catch (error) {
      const problem = describeError(readApiError(error));
      if (readApiError(error).code !== "UNAUTHORIZED") {
        toast({ tone: "error", title: "Sign-out failed", description: problem.message });
        return;
      }
    }
    setSignedInHint(false);
    queryClient.clear();
    // Behind Pomerium the proxy holds the identity: sign out there too, or it signs us straight back in.
    window.location.assign(config.data?.pomerium ? "/.pomerium/sign_out" : "/sign-in");
  };
  return { signOut, pending: logout.isPending };
}

/** "Sign out" of this browser, with the state of the `useSignOut()` it belongs to. */
export function SignOutButton({
  signOut,
  pending,
  ...look
}: {
  signOut: (everywhere: boolean) => Promise<void>;
  pending: boolean;
  variant: ButtonVariant;
  size?: ButtonSize;
  className?: string;
}) {
  return (
    <Button
      {...look}
      loading={pending}
      onClick={() => void signOut(false)}
      icon={<LogOut aria-hidden className="size-4" />}
    >
      Sign out
    </Button>
  );
}

/** The shell could not find out who is signed in (API unreachable, proxy trouble). */
function ShellProblem({ error, onRetry }: { error: unknown; onRetry: () => void }) {
  return (
    <main className="mx-auto flex max-w-lg flex-col gap-6 px-6 py-20">
      <Logo />
      <h1 className="text-xl font-semibold text-fg">NeoSC cannot load right now</h1>
      <ErrorState error={error} onRetry={onRetry} />
    </main>
  );
}

export function AppShell() {
  const location = useLocation();
  const config = trpc.auth.config.useQuery(undefined, { staleTime: Number.POSITIVE_INFINITY });
  // Without a sign-in hint (and without Pomerium) asking `auth.me` would only collect a 401.
  const askMe = hasSignedInHint() || config.data?.pomerium === true;
  const me = trpc.auth.me.useQuery(undefined, { retry: false, staleTime: 60_000, enabled: askMe });
  const { signOut, pending } = useSignOut();
  const [menuOpen, setMenuOpen] = useState(false);
  const unauthorized = me.error !== null && readApiError(me.error).code === "UNAUTHORIZED";

  useEffect(() => {
    if (me.data) setSignedInHint(true);
    else if (unauthorized) setSignedInHint(false);
  }, [me.data, unauthorized]);

  const next = `${location.pathname}${location.search}${location.hash}`;
  const signInPath = next === "/" ? "/sign-in" : `/sign-in?next=${encodeURIComponent(next)}`;

  if (!askMe) {
    if (config.isPending) return <PageLoading />;
    if (config.error) {
      return <ShellProblem error={config.error} onRetry={() => void config.refetch()} />;
    }
    return <Navigate replace to={signInPath} />;
  }
  if (me.isPending) return <PageLoading label="Signing you in" />;
  if (me.error) {
    if (unauthorized && !config.data?.pomerium) return <Navigate replace to={signInPath} />;
    return <ShellProblem error={me.error} onRetry={() => void me.refetch()} />;
  }
  if (me.data.user.mustChangePassword) return <Navigate replace to="/change-password" />;

  const { user } = me.data;
  const userCard = (
    <div className="min-w-0">
      <p className="truncate text-sm font-medium text-fg">{user.name}</p>
      <p className="truncate text-xs text-fg-muted">{user.email}</p>
      <RoleBadge role={user.role} className="mt-1" />
    </div>
  );

  return (
    <MeContext.Provider value={me.data}>
      <a
        href="#content"
        className="sr-only z-50 rounded-lg bg-primary px-3 py-2 text-primary-fg focus:not-sr-only focus:fixed focus:top-2 focus:left-2"
      >
        Skip to content
      </a>
      <div className="min-h-dvh lg:grid lg:grid-cols-[16rem_1fr]">
        <aside className="hidden border-r border-line bg-surface lg:block">
          <div className="sticky top-0 flex h-dvh flex-col px-3 py-4">
            <Link to="/" className="mb-6 rounded-lg px-3 py-1">
              <Logo />
            </Link>
            <div className="flex-1 overflow-y-auto">
              <AppNav role={user.role} />
            </div>
            <div className="mt-4 space-y-3 border-t border-line px-3 pt-4">
              {userCard}
              <div className="flex items-center justify-between">
                <ThemeToggle />
                <SignOutButton signOut={signOut} pending={pending} variant="ghost" size="sm" />
              </div>
            </div>
          </div>
        </aside>

        <header className="sticky top-0 z-30 flex items-center justify-between border-b border-line bg-surface/90 px-4 py-2 backdrop-blur lg:hidden">
          <Link to="/" className="rounded-lg">
            <Logo />
          </Link>
          <div className="flex items-center gap-1">
            <ThemeToggle />
            <Dialog.Root open={menuOpen} onOpenChange={setMenuOpen}>
              <Dialog.Trigger
                aria-label="Open menu"
                className="inline-flex size-9 items-center justify-center rounded-lg text-fg hover:bg-surface-muted"
              >
                <Menu aria-hidden className="size-5" />
              </Dialog.Trigger>
              <Dialog.Portal>
                <Dialog.Overlay className="fixed inset-0 z-40 bg-black/40" />
                <Dialog.Content
                  aria-describedby={undefined}
                  className="fixed inset-y-0 right-0 z-50 flex w-72 max-w-[85vw] flex-col gap-4 overflow-y-auto border-l border-line bg-surface p-4 shadow-xl"
                >
                  <div className="flex items-center justify-between">
                    <Dialog.Title className="text-sm font-semibold text-fg-muted">Menu</Dialog.Title>
                    <Dialog.Close aria-label="Close menu" className="rounded-lg p-1.5 hover:bg-surface-muted">
                      <X aria-hidden className="size-5" />
                    </Dialog.Close>
                  </div>
                  <AppNav role={user.role} onNavigate={() => setMenuOpen(false)} />
                  <div className="mt-auto space-y-3 border-t border-line pt-4">
                    {userCard}
                    <SignOutButton
                      signOut={signOut}
                      pending={pending}
                      variant="secondary"
                      className="w-full"
                    />
                  </div>
                </Dialog.Content>
              </Dialog.Portal>
            </Dialog.Root>
          </div>
        </header>

        <main id="content" tabIndex={-1} className="min-w-0 px-4 py-6 outline-none sm:px-6 lg:px-10 lg:py-8">
          <div className="mx-auto max-w-7xl">
            <Outlet />
          </div>
        </main>
      </div>
    </MeContext.Provider>
  );
}
