import { startTestServer } from "@neosc/db/testing";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    mongoUrl: string;
  }
}

/** Starts one database server for the whole run (or uses MONGO_URL) and stops it afterwards. */
export default async function setup(project: TestProject) {
  const server = await startTestServer();
  project.provide("mongoUrl", server.url);
  return () => server.stop();
}
