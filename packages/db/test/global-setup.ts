import type { TestProject } from "vitest/node";
import { startTestServer } from "../src/testing.ts";

// Copy this file into another package as test/global-setup.ts, importing "@neosc/db/testing".
declare module "vitest" {
  export interface ProvidedContext {
    mongoUrl: string;
  }
}

/** One database server for the whole run (or MONGO_URL); each test file makes its own database. */
export default async function setup(project: TestProject) {
  const server = await startTestServer();
  project.provide("mongoUrl", server.url);
  return () => server.stop();
}
