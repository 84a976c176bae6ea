import { Link, useRouteError } from "react-router";
import { buttonClass } from "../components/ui/button.tsx";

function isChunkLoadError(error: unknown): boolean {
  return (
    error instanceof Error &&
    /dynamically imported module|Importing a module script failed/i.test(error.message)
  );
}

/** A route that failed to load or render: usually a new deployment replaced the chunks. */
export function RouteErrorPage() {
  const error = useRouteError();
  const stale = isChunkLoadError(error);
  return (
    <main className="mx-auto flex min-h-dvh max-w-md flex-col items-center justify-center gap-4 px-6 text-center">
      <h1 className="text-2xl font-semibold text-fg">{stale ? "NeoSC was updated" : "This page broke"}</h1>
      <p className="text-sm text-fg-muted">
        {stale
          ? "A newer version of the portal is available. Reload to continue."
          : "Something unexpected happened while showing this page. Reloading usually helps."}
      </p>
      <div className="flex gap-2">
        <button type="button" className={buttonClass("primary")} onClick={() => window.location.reload()}>
          Reload
        </button>
        <a className={buttonClass("secondary")} href="/">
          Go home
        </a>
      </div>
    </main>
  );
}

export function NotFoundPage() {
  return (
    <main className="mx-auto flex min-h-dvh max-w-md flex-col items-center justify-center gap-4 px-6 text-center">
      <p className="text-sm font-semibold text-primary">404</p>
      <h1 className="text-2xl font-semibold text-fg">Page not found</h1>
      <p className="text-sm text-fg-muted">There is nothing at this address.</p>
      <Link className={buttonClass("primary")} to="/">
        Go home
      </Link>
    </main>
  );
}
