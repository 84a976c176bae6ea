import type { Page } from "@playwright/test";
import { batchMutation, batchQueryPath, decodeBatch, type WireResult } from "./trpc-wire.ts";

export interface PageCall {
  status: number;
  result: WireResult;
}

/**
 * Calls the API from inside the page, so the request carries exactly what the browser has: the
 * HttpOnly session cookie, the Origin, any headers the context adds. Nothing from the test.
 */
export async function mutateFromPage(page: Page, procedure: string, input: unknown): Promise<PageCall> {
  const { path, body } = batchMutation(procedure, input);
  const raw = await page.evaluate(
    async ({ path, body }) => {
      const response = await fetch(path, {
        method: "POST",
        headers: { "content-type": "application/json", "x-neosc-csrf": "1" },
        body,
        credentials: "same-origin",
      });
      return { status: response.status, text: await response.text() };
    },
    { path, body },
  );
  return { status: raw.status, result: decodeBatch(raw.text)[0] as WireResult };
}

export async function queryFromPage(page: Page, procedure: string, input?: unknown): Promise<PageCall> {
  const path = batchQueryPath([[procedure, input]]);
  const raw = await page.evaluate(async (path) => {
    const response = await fetch(path, { credentials: "same-origin" });
    return { status: response.status, text: await response.text() };
  }, path);
  return { status: raw.status, result: decodeBatch(raw.text)[0] as WireResult };
}
