// Ceiling 2: the API's stack (Express 5 + tRPC 11 express adapter + superjson) with one "hello"
// query and nothing else: no identity resolution, no database. It answers with the same
// dashboard data the real API returned (kept in memory, Dates included so superjson does the
// same work). Lives only here: the product router has no hello procedure. Plain JavaScript, so
// it runs on plain node like the API's bundle (no TypeScript loader in the request path).
import { readFileSync } from "node:fs";
import { initTRPC } from "@trpc/server";
import { createExpressMiddleware } from "@trpc/server/adapters/express";
import express from "express";
import superjson from "superjson";

const [payloadFile, port] = process.argv.slice(2);
if (!payloadFile || !port) throw new Error("usage: hello-server.mjs <payload.superjson> <port>");
const payload = superjson.parse(readFileSync(payloadFile, "utf8"));

const t = initTRPC.create({ transformer: superjson });
const helloRouter = t.router({ hello: t.procedure.query(() => payload) });

const app = express();
app.disable("x-powered-by");
app.get("/healthz", (_request, response) => {
  response.json({ ok: true });
});
app.use("/trpc", createExpressMiddleware({ router: helloRouter, createContext: () => ({}) }));
app.listen(Number(port), "127.0.0.1");
