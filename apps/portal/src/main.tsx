import "./styles.css";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { RouterProvider } from "react-router/dom";
import { Providers } from "./app/providers.tsx";
import { createAppRouter } from "./app/routes.tsx";
import { loadRuntimeConfig } from "./lib/config.ts";
import { hasSignedInHint } from "./lib/signed-in-hint.ts";

const PUBLIC_PATHS = ["/sign-in", "/register", "/auth/callback"];

/**
 * A browser that never signed in goes straight to the sign-in page, before the router starts:
 * otherwise it would first download the signed-in app (shell, home) only to be redirected.
 * Behind Pomerium the sign-in page sends the person on at once (and remembers it).
 */
function sendNewVisitorsToSignIn() {
  const { pathname, search, hash } = window.location;
  if (hasSignedInHint() || PUBLIC_PATHS.some((path) => pathname.startsWith(path))) return;
  const next = `${pathname}${search}${hash}`;
  window.history.replaceState(
    null,
    "",
    next === "/" ? "/sign-in" : `/sign-in?next=${encodeURIComponent(next)}`,
  );
}

async function start() {
  const container = document.getElementById("root");
  if (container === null) throw new Error("index.html has no #root element");
  sendNewVisitorsToSignIn();
  const config = await loadRuntimeConfig();
  const router = createAppRouter();
  createRoot(container).render(
    <StrictMode>
      <Providers config={config}>
        <RouterProvider router={router} />
      </Providers>
    </StrictMode>,
  );
}

void start();
