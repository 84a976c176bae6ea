import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";

/*
 * The request inspector: a small internal web app that the embedded default starts on a loopback
 * port, so that the default catalogue's web workspace opens something that runs on the install
 * itself. It shows what reaches an app through the gateway (headers, cookies: none of NeoSC's),
 * and exercises what the web proxy rewrites or polices: cookies with a Domain, an absolute
 * redirect, a WebSocket echo, a download and an upload. The gateway's tests use it as their app.
 */

export interface InspectorApp {
  url: string;
  port: number;
  close(): Promise<void>;
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (char) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[char] ?? char,
  );
}

function readAll(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

const SCRIPT = `
const log = document.getElementById("echo-log");
const socket = new WebSocket(location.origin.replace(/^http/, "ws") + location.pathname.replace(/\\/[^/]*$/, "") + "/echo");
socket.onopen = () => { log.textContent = "WebSocket open"; };
socket.onmessage = (event) => { log.textContent = "echo: " + event.data; };
socket.onclose = (event) => { log.textContent = "WebSocket closed (" + event.code + ")"; };
document.getElementById("echo-form").onsubmit = (event) => {
  event.preventDefault();
  socket.send(document.getElementById("echo-text").value);
};
`;

function homePage(request: IncomingMessage): string {
  const rows = Object.entries(request.headers)
    .map(([name, value]) => `<tr><th>${escapeHtml(name)}</th><td>${escapeHtml(String(value))}</td></tr>`)
    .join("");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Request inspector</title>
<style>body{font:15px system-ui,sans-serif;margin:2rem;color:#1d2330}table{border-collapse:collapse}th,td{text-align:left;padding:.2rem .6rem;border-bottom:1px solid #ddd;font-family:ui-monospace,monospace;font-size:13px}section{margin:1.5rem 0}</style>
</head><body>
<h1>Request inspector</h1>
<p>An internal app of this install, reached through the NeoSC gateway. Below is what it received: no NeoSC or Pomerium cookie, assertion or Authorization header reaches it.</p>
<section><h2>Request headers</h2><table id="headers">${rows}</table></section>
<section><h2>Try</h2><ul>
<li><a href="set-cookie">Set a cookie</a> (with a Domain, which the gateway drops)</li>
<li><a href="redirect">Follow an absolute redirect</a></li>
<li><a href="download">Download a file</a></li>
</ul>
<form method="post" action="upload" enctype="multipart/form-data"><input type="file" name="file"> <button>Upload</button></form>
<form id="echo-form"><input id="echo-text" value="hello"> <button>Send over the WebSocket</button> <span id="echo-log">WebSocket connecting</span></form>
</section>
<script src="inspector.js"></script>
</body></html>`;
}

export async function startInspectorApp(
  options: { host?: string; port?: number } = {},
): Promise<InspectorApp> {
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://inspector");
    const json = (status: number, body: unknown, headers: Record<string, string | string[]> = {}) =>
      response
        .writeHead(status, { "content-type": "application/json", ...headers })
        .end(JSON.stringify(body));
    switch (`${request.method} ${url.pathname}`) {
      case "GET /":
        response
          .writeHead(200, {
            "content-type": "text/html; charset=utf-8",
            // An app that refuses to be framed: the gateway lets the portal frame it anyway.
            "x-frame-options": "DENY",
            "content-security-policy":
              "default-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'",
          })
          .end(homePage(request));
        return;
      case "GET /inspector.js":
        response.writeHead(200, { "content-type": "text/javascript" }).end(SCRIPT);
        return;
      case "GET /headers":
        json(200, { method: request.method, url: request.url, headers: request.headers });
        return;
      case "GET /set-cookie":
        json(
          200,
          { set: true },
          {
            "set-cookie": [
              `app_sid=s-${Date.now()}; Domain=${(request.headers.host ?? "").split(":")[0]}; Path=/; HttpOnly`,
              "pref=dark; Domain=.inspector.internal; Path=/settings",
            ],
          },
        );
        return;
      case "GET /redirect":
        response.writeHead(302, { location: `http://${request.headers.host}/landed?from=redirect` }).end();
        return;
      case "GET /landed":
        response.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><p>Landed.</p>");
        return;
      case "GET /download":
        response
          .writeHead(200, {
            "content-type": "text/plain",
            "content-disposition": 'attachment; filename="report.txt"',
          })
          .end("a report from the internal app\n");
        return;
      case "POST /upload":
      case "POST /form":
        readAll(request).then(
          (body) =>
            json(200, { received: body.length, contentType: request.headers["content-type"] ?? null }),
          () => response.destroy(),
        );
        return;
      default:
        json(404, { error: "not_found" });
    }
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", (request, socket, head) => {
    if (new URL(request.url ?? "/", "http://inspector").pathname !== "/echo") {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      ws.send(
        JSON.stringify({ cookie: request.headers.cookie ?? null, origin: request.headers.origin ?? null }),
      );
      ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
