// Ceiling 1: node:http answering every request with bytes held in memory (no framework, no
// parsing, no auth, no database). Started by bench/run.ts as its own process, on plain node.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";

const [bodyFile, port] = process.argv.slice(2);
if (!bodyFile || !port) throw new Error("usage: bare-server.mjs <body.json> <port>");
const body = readFileSync(bodyFile);

createServer((_request, response) => {
  response.writeHead(200, { "content-type": "application/json", "content-length": body.length });
  response.end(body);
}).listen(Number(port), "127.0.0.1");
