// The bare-pipe ceiling of `pnpm bench:gateway`: a plain `ws` WebSocket server that pipes each
// connection to a TCP target (`/?target=host:port`) with the relay's backpressure (stop reading the
// target above 1 MiB unsent to the browser, stop reading the browser while the target is not
// draining) and nothing else: no ticket, no Origin check, no session, no protocol parsing. Started
// by bench/gateway.ts as its own process with --expose-gc; `GET /gc` collects garbage and answers
// the process's RSS, so its memory per idle connection is measured like the gateway's.
import { createServer } from "node:http";
import { connect } from "node:net";
import { WebSocketServer } from "ws";

const port = Number(process.argv[2]);
if (!port) throw new Error("usage: ws-pipe.mjs <port>");
const HIGH_WATER = 1024 * 1024;

const server = createServer((request, response) => {
  if (request.url === "/gc") globalThis.gc?.();
  response.writeHead(200, { "content-type": "application/json" });
  response.end(JSON.stringify({ rss: process.memoryUsage.rss(), gc: typeof globalThis.gc === "function" }));
});
const wss = new WebSocketServer({
  server,
  perMessageDeflate: false,
  clientTracking: false,
  handleProtocols: (protocols) => [...protocols][0] ?? false,
});
wss.on("connection", (ws, request) => {
  const target = new URL(request.url ?? "/", "http://pipe").searchParams.get("target") ?? "";
  const [host, targetPort] = target.split(":");
  const upstream = connect({ host, port: Number(targetPort) });
  upstream.setNoDelay(true);
  let paused = false;
  upstream.on("data", (chunk) => {
    ws.send(chunk, { binary: true }, () => {
      if (paused && ws.bufferedAmount < HIGH_WATER / 2) {
        paused = false;
        upstream.resume();
      }
    });
    if (!paused && ws.bufferedAmount >= HIGH_WATER) {
      paused = true;
      upstream.pause();
    }
  });
  ws.on("message", (data) => {
    if (!upstream.write(data)) {
      ws.pause();
      upstream.once("drain", () => ws.resume());
    }
  });
  const end = () => {
    upstream.destroy();
    ws.terminate();
  };
  upstream.on("error", end);
  upstream.on("close", end);
  ws.on("close", end);
  ws.on("error", end);
});
server.listen(port, "127.0.0.1");
