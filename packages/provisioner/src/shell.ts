import path from "node:path";
import { connectEndpointSocket } from "@neosc/core/endpoint-socket";
import {
  SHELL_OUTPUT_FRAME_MAX_BYTES,
  SHELL_WATCH_NONCE_BYTES,
  TERMINAL_MAX_COLS,
  TERMINAL_MAX_INPUT_BYTES,
  TERMINAL_MAX_ROWS,
} from "@neosc/core/terminal";
import type { Endpoint, WorkspaceEndpoint } from "./provisioner.ts";

/*
 * Local shells (terminal workspaces on driver `local`, program `shell`): the local driver runs
 * the shell host below as the session's program, inside the session's sandbox as its own
 * unprivileged account. The shell host is a small Python program (Debian's python3, nothing to
 * build: node-pty has no Linux prebuilds and would need a compiler on every install) that owns
 * the pty, runs a login shell under it, keeps the last SHELL_SCROLLBACK_BYTES of output, and
 * serves it on a unix socket in the session folder (mode 0600, the session's): whoever connects
 * gets the scrollback and then live output, and sends terminal frames (`@neosc/core/terminal`)
 * that the gateway has already checked; a watching admin's connection (the gateway's watch frame)
 * gets framed output and the pty's size instead, so the watcher draws at the person's size. A reconnecting browser attaches to the same shell; the
 * shell outlives connections and ends only when it exits or the sandbox is stopped. When the
 * shell exits, the host closes every connection and exits with the shell's status.
 */

/** The shell host's socket, in the session folder beside `home/`. */
export const SHELL_SOCKET = "terminal.sock";
/** Output kept for a reattaching viewer. */
export const SHELL_SCROLLBACK_BYTES = 256 * 1024;

const SHELL_HOST = `
import errno, fcntl, os, pty, selectors, signal, socket, struct, sys, termios

sock_path, scrollback_limit, max_input, max_cols, max_rows, nonce_bytes, frame_max = (
    sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]),
    int(sys.argv[6]), int(sys.argv[7]))
command = sys.argv[8:]
# A viewer this far behind stops the shell's output until it catches up (backpressure).
HIGH_WATER = 1 << 20

pid, master = pty.fork()
if pid == 0:
    os.environ["TERM"] = "xterm-256color"
    os.execvp(command[0], command)

fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
os.set_blocking(master, False)
os.umask(0o077)
try:
    os.unlink(sock_path)
except FileNotFoundError:
    pass
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(sock_path)
server.listen(8)
server.setblocking(False)

sel = selectors.DefaultSelector()
scrollback = bytearray()
to_shell = bytearray()
clients = {}  # socket -> {"in": bytearray, "out": bytearray, "framed": bool}


def winsize():
    rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(master, termios.TIOCGWINSZ, bytes(8)))
    return cols, rows


def size_frame(size):
    return b"\\x01" + struct.pack(">HH", size[0], size[1])


def output_frames(data):
    out = bytearray()
    for at in range(0, len(data), frame_max):
        part = data[at:at + frame_max]
        out += b"\\x00" + struct.pack(">I", len(part)) + part
    return out


# The size watchers last heard; a change (a viewer's resize, stty inside the shell) goes to them.
announced = (80, 24)


def announce():
    global announced
    size = winsize()
    if size == announced:
        return
    announced = size
    for state in clients.values():
        if state["framed"]:
            state["out"].extend(size_frame(size))


def stop(*_):
    try:
        os.killpg(pid, signal.SIGHUP)
    except ProcessLookupError:
        pass


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGHUP, stop)
signal.signal(signal.SIGPIPE, signal.SIG_IGN)


def interest():
    master_events = 0
    if all(len(c["out"]) < HIGH_WATER for c in clients.values()):
        master_events |= selectors.EVENT_READ
    if to_shell:
        master_events |= selectors.EVENT_WRITE
    for key in (master,):
        if master_events:
            try:
                sel.modify(key, master_events)
            except KeyError:
                sel.register(key, master_events)
        else:
            try:
                sel.unregister(key)
            except KeyError:
                pass
    for conn, state in clients.items():
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if state["out"] else 0)
        sel.modify(conn, events)


def drop(conn):
    clients.pop(conn, None)
    try:
        sel.unregister(conn)
    except KeyError:
        pass
    conn.close()


def frames(conn, state):
    buf = state["in"]
    while buf:
        kind = buf[0]
        if kind == 0:
            if len(buf) < 5:
                return
            (length,) = struct.unpack(">I", bytes(buf[1:5]))
            if length == 0 or length > max_input:
                return drop(conn)
            if len(buf) < 5 + length:
                return
            to_shell.extend(buf[5:5 + length])
            del buf[:5 + length]
        elif kind == 1:
            if len(buf) < 5:
                return
            cols, rows = struct.unpack(">HH", bytes(buf[1:5]))
            if not (1 <= cols <= max_cols and 1 <= rows <= max_rows):
                return drop(conn)
            fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            del buf[:5]
            announce()
        elif kind == 3:
            # A watcher (the gateway for an admin): from the nonce on, the size, then the
            # scrollback again and live output, framed; the raw bytes before it are dropped.
            if len(buf) < 1 + nonce_bytes:
                return
            if state["framed"]:
                return drop(conn)
            state["framed"] = True
            state["out"] = bytearray(buf[1:1 + nonce_bytes]) + size_frame(winsize()) + output_frames(scrollback)
            del buf[:1 + nonce_bytes]
        else:
            return drop(conn)


sel.register(server, selectors.EVENT_READ)
interest()
shell_done = False
while not shell_done:
    for key, events in sel.select():
        target = key.fileobj
        if target is server:
            try:
                conn, _ = server.accept()
            except BlockingIOError:
                continue
            conn.setblocking(False)
            clients[conn] = {"in": bytearray(), "out": bytearray(scrollback), "framed": False}
            sel.register(conn, selectors.EVENT_READ)
        elif target == master:
            if events & selectors.EVENT_READ:
                try:
                    data = os.read(master, frame_max)
                except BlockingIOError:
                    data = None
                except OSError as error:
                    if error.errno != errno.EIO:
                        raise
                    data = b""
                if data == b"":
                    shell_done = True
                    break
                if data:
                    scrollback.extend(data)
                    del scrollback[:max(0, len(scrollback) - scrollback_limit)]
                    # A program may have changed the size itself (stty, resize): before its output.
                    announce()
                    framed = None
                    for state in clients.values():
                        if state["framed"]:
                            framed = framed if framed is not None else output_frames(data)
                            state["out"].extend(framed)
                        else:
                            state["out"].extend(data)
            if events & selectors.EVENT_WRITE and to_shell:
                try:
                    written = os.write(master, to_shell)
                    del to_shell[:written]
                except BlockingIOError:
                    pass
        elif target in clients:
            state = clients[target]
            if events & selectors.EVENT_READ:
                try:
                    data = target.recv(65536)
                except (BlockingIOError, InterruptedError):
                    data = None
                except OSError:
                    data = b""
                if data == b"":
                    drop(target)
                    continue
                if data:
                    state["in"].extend(data)
                    frames(target, state)
                    if target not in clients:
                        continue
            if events & selectors.EVENT_WRITE and state["out"]:
                try:
                    sent = target.send(state["out"])
                    del state["out"][:sent]
                except BlockingIOError:
                    pass
                except OSError:
                    drop(target)
                    continue
    interest()

# The shell ended: hand out what it printed last, then close every viewer.
for conn, state in list(clients.items()):
    try:
        conn.setblocking(True)
        conn.settimeout(1)
        conn.sendall(state["out"])
        conn.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    conn.close()
try:
    os.unlink(sock_path)
except FileNotFoundError:
    pass
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)
`;

export interface ShellHostOptions {
  /** Where the socket is, as the program inside the sandbox sees it (e.g. /session/terminal.sock). */
  socketPath: string;
  /** The shell and its arguments (default a login bash). */
  shell?: string[];
  scrollbackBytes?: number;
  /** The Python interpreter inside the sandbox (default Debian's /usr/bin/python3). */
  python?: string;
}

/** argv of the shell host, to run as the session's program inside its sandbox. */
export function shellHostCommand(options: ShellHostOptions): string[] {
  return [
    options.python ?? "/usr/bin/python3",
    "-I",
    "-c",
    SHELL_HOST,
    options.socketPath,
    String(options.scrollbackBytes ?? SHELL_SCROLLBACK_BYTES),
    String(TERMINAL_MAX_INPUT_BYTES),
    String(TERMINAL_MAX_COLS),
    String(TERMINAL_MAX_ROWS),
    String(SHELL_WATCH_NONCE_BYTES),
    String(SHELL_OUTPUT_FRAME_MAX_BYTES),
    ...(options.shell ?? ["/bin/bash", "-l"]),
  ];
}

/** The Debian package the shell host needs (the shell itself is in every install). */
export const SHELL_PACKAGES = ["python3"];

/** The endpoint of a session's shell host, given the session folder on the host. */
export function shellEndpoint(sessionDir: string): WorkspaceEndpoint {
  return { protocol: "shell", endpoint: { transport: "unix", path: path.join(sessionDir, SHELL_SOCKET) } };
}

/** Resolves true once the shell host accepts connections (false after `timeoutMs`). */
export async function waitForShellHost(endpoint: Endpoint, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = connectEndpointSocket(endpoint);
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (accepted) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
}
