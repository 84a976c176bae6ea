// The synthetic RFB source of `pnpm bench:gateway`'s throughput rows: an RFB 3.8 server (security
// None, a 1280×800 true-colour screen) that, once the client has sent ClientInit, writes raw
// FramebufferUpdates as fast as the socket drains and ignores everything the client sends. It is
// not a desktop: it stands for the upper bound of what a workspace can hand the relay. Started by
// bench/gateway.ts as its own process, on plain node; `GET /healthz` on the health port says it is up.
import { randomBytes } from "node:crypto";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";

const [port, healthPort] = process.argv.slice(2).map(Number);
if (!port || !healthPort) throw new Error("usage: rfb-source.mjs <rfb port> <health port>");

const WIDTH = 1280;
const HEIGHT = 800;
/** One update: a raw rectangle of 1280×64 pixels, 4 bytes each (320 KiB), noise so nothing compresses. */
const STRIPE = 64;
const update = Buffer.alloc(4 + 12 + WIDTH * STRIPE * 4);
update.writeUInt8(0, 0); // FramebufferUpdate
update.writeUInt16BE(1, 2); // one rectangle
update.writeUInt16BE(0, 4); // x
update.writeUInt16BE(0, 6); // y
update.writeUInt16BE(WIDTH, 8);
update.writeUInt16BE(STRIPE, 10);
update.writeInt32BE(0, 12); // raw encoding
randomBytes(WIDTH * STRIPE * 4).copy(update, 16);

function serverInit() {
  const name = Buffer.from("synthetic RFB source", "utf8");
  const init = Buffer.alloc(24);
  init.writeUInt16BE(WIDTH, 0);
  init.writeUInt16BE(HEIGHT, 2);
  // Pixel format: 32 bpp, depth 24, little endian, true colour, 8 bits per channel.
  Buffer.from([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]).copy(init, 4);
  init.writeUInt32BE(name.length, 20);
  return Buffer.concat([init, name]);
}

createServer((socket) => {
  socket.setNoDelay(true);
  let received = Buffer.alloc(0);
  let stage = "version";
  const stream = () => {
    while (!socket.destroyed && socket.write(update));
    if (!socket.destroyed) socket.once("drain", stream);
  };
  socket.on("error", () => socket.destroy());
  socket.on("data", (chunk) => {
    if (stage === "streaming") return;
    received = Buffer.concat([received, chunk]);
    if (stage === "version" && received.length >= 12) {
      received = received.subarray(12);
      socket.write(Buffer.from([1, 1])); // one security type: None
      stage = "security";
    }
    if (stage === "security" && received.length >= 1) {
      received = received.subarray(1);
      socket.write(Buffer.alloc(4)); // SecurityResult OK
      stage = "init";
    }
    if (stage === "init" && received.length >= 1) {
      stage = "streaming";
      socket.write(serverInit());
      stream();
    }
  });
  socket.write(Buffer.from("RFB 003.008\n", "latin1"));
}).listen(port, "127.0.0.1");

createHttpServer((_request, response) => response.writeHead(200).end("ok")).listen(healthPort, "127.0.0.1");
