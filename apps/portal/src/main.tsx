import "./styles.css";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { RouterProvider } from "react-router/dom";
import { Providers } from "./app/providers.tsx";
import { createAppRouter } from "./app/routes.tsx";
import { loadRuntimeConfig } from "./lib/config.ts";

async function start() {
  const container = document.getElementById("root");
  if (container === null) throw new Error("index.html has no #root element");
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
