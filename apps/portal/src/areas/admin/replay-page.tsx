import { decodeAccessLog, type RecordingKind, type RecordingSegment } from "@neosc/core/recording";
import type { Player as TerminalPlayerHandle } from "asciinema-player";
import { Pause, Play, ShieldCheck, ShieldX } from "lucide-react";
import { useEffect, useMemo, useRef, useState } from "react";
import { Link, useParams } from "react-router";
import { Button } from "../../components/ui/button.tsx";
import { DataTable } from "../../components/ui/data-table.tsx";
import { Badge, Card, EmptyState, ErrorState, PageHeader, Skeleton } from "../../components/ui/feedback.tsx";
import {
  openSegment,
  type Pointer,
  ReplayEngine,
  type ReplayState,
} from "../../features/replay/replay-engine.ts";
import { joinPieces, unpackSegment } from "../../features/replay/stored-segment.ts";
import { formatCount, formatDateTime, formatDuration, formatPreciseTime } from "../../lib/format.ts";
import { trpc } from "../../lib/trpc.ts";

const SPEEDS = [0.5, 1, 2, 4, 8];

function clock(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${String(seconds % 60).padStart(2, "0")}`;
}

const KIND_LABEL: Record<RecordingKind, string> = {
  rfb: "Desktop",
  asciicast: "Terminal",
  "access-log": "Access log",
};

/**
 * The stored bytes of a segment (fetched in pieces; the first piece's fetch is audited as a
 * download), uncompressed, with whether they match the audit chain.
 */
function useStoredSegment(segment: RecordingSegment) {
  const utils = trpc.useUtils();
  const [loaded, setLoaded] = useState<{ plain: Uint8Array; verified: boolean } | null>(null);
  const [failure, setFailure] = useState<Error | null>(null);
  useEffect(() => {
    let cancelled = false;
    (async () => {
      const pieces: string[] = [];
      let offset: number | null = 0;
      while (offset !== null) {
        const piece = await utils.client.recording.chunk.query({
          sessionId: segment.sessionId,
          segment: segment.segment,
          offset,
        });
        pieces.push(piece.data);
        offset = piece.nextOffset;
      }
      const opened = await unpackSegment(joinPieces(pieces), segment.sha256);
      if (!cancelled) setLoaded(opened);
    })().catch((error: unknown) => {
      if (!cancelled) setFailure(error instanceof Error ? error : new Error(String(error)));
    });
    return () => {
      cancelled = true;
    };
  }, [segment, utils]);
  return { loaded, failure };
}

function Verified({ verified }: { verified: boolean | null }) {
  if (verified === null) return <Badge tone="neutral">Loading…</Badge>;
  return verified ? (
    <Badge tone="success">
      <ShieldCheck aria-hidden className="mr-1 inline size-3" />
      Matches the audit log
    </Badge>
  ) : (
    <Badge tone="danger">
      <ShieldX aria-hidden className="mr-1 inline size-3" />
      Does not match the audit log: altered
    </Badge>
  );
}

/** Admins: the recorded connections of one session, each replayable. */
/** Play/pause, speed and skipping idle gaps: the same controls for every kind of recording. */
function PlaybackControls(props: {
  ready: boolean;
  playing: boolean;
  onPlayPause: () => void;
  speed: number;
  onSpeed: (speed: number) => void;
  skipIdle: boolean;
  onSkipIdle: (skip: boolean) => void;
  verified: boolean | null;
}) {
  return (
    <div className="flex flex-wrap items-center gap-3">
      <Button
        size="sm"
        disabled={!props.ready}
        icon={
          props.playing ? <Pause aria-hidden className="size-4" /> : <Play aria-hidden className="size-4" />
        }
        onClick={props.onPlayPause}
      >
        {props.playing ? "Pause" : "Play"}
      </Button>
      <label className="flex items-center gap-2 text-sm text-fg">
        Speed
        <select
          className="rounded-md border border-line bg-surface px-2 py-1"
          value={props.speed}
          onChange={(event) => props.onSpeed(Number(event.target.value))}
        >
          {SPEEDS.map((value) => (
            <option key={value} value={value}>
              {value}×
            </option>
          ))}
        </select>
      </label>
      <label className="flex items-center gap-2 text-sm text-fg">
        <input
          type="checkbox"
          className="size-4 accent-primary"
          checked={props.skipIdle}
          onChange={(event) => props.onSkipIdle(event.target.checked)}
        />
        Skip idle gaps
      </label>
      <Verified verified={props.verified} />
    </div>
  );
}

export function ReplayPage() {
  const { sessionId = "" } = useParams();
  const list = trpc.recording.list.useQuery({ sessionId });
  const [chosen, setChosen] = useState<number | null>(null);
  const segments = list.data?.segments ?? [];
  const current = segments.find((s) => s.segment === chosen) ?? segments.find((s) => s.deletedAt === null);

  return (
    <>
      <PageHeader
        title="Session recording"
        description="What the person's screen or terminal showed, with their pointer on a desktop; for a web app, the requests it answered (never their content or query values). A desktop's keystrokes are never recorded; a terminal's typed input only when the recording policy keeps it, because it can contain passwords. Each replay is audited."
      />
      <p className="mb-4 text-sm">
        <Link className="text-primary underline" to="/sessions?tab=history">
          Back to the session history
        </Link>
      </p>
      {list.isPending ? (
        <Skeleton className="h-60" />
      ) : list.error ? (
        <ErrorState error={list.error} onRetry={() => void list.refetch()} />
      ) : segments.length === 0 ? (
        <EmptyState title="No recording">This session was not recorded.</EmptyState>
      ) : (
        <div className="space-y-4">
          <nav aria-label="Connections of this session" className="flex flex-wrap gap-2">
            {segments.map((segment) => (
              <Button
                key={segment.segment}
                size="sm"
                variant={segment.segment === current?.segment ? "primary" : "secondary"}
                aria-pressed={segment.segment === current?.segment}
                disabled={segment.deletedAt !== null}
                onClick={() => setChosen(segment.segment)}
              >
                {KIND_LABEL[segment.kind]} {segment.segment} · {formatDateTime(segment.startedAt)} ·{" "}
                {formatDuration(segment.durationMs)}
                {segment.deletedAt !== null ? " (deleted by retention)" : ""}
              </Button>
            ))}
          </nav>
          {current !== undefined && current.deletedAt === null ? (
            current.kind === "rfb" ? (
              <DesktopPlayer key={current.segment} segment={current} />
            ) : current.kind === "asciicast" ? (
              <TerminalPlayer key={current.segment} segment={current} />
            ) : (
              <AccessLog key={current.segment} segment={current} />
            )
          ) : null}
        </div>
      )}
    </>
  );
}

function DesktopPlayer({ segment }: { segment: RecordingSegment }) {
  const stored = useStoredSegment(segment);
  const screen = useRef<HTMLDivElement | null>(null);
  const engine = useRef<ReplayEngine | null>(null);
  const [loaded, setLoaded] = useState<{ verified: boolean; truncated: boolean } | null>(null);
  const [decodeFailure, setFailure] = useState<Error | null>(null);
  const [state, setState] = useState<ReplayState | null>(null);
  const [speed, setSpeed] = useState(1);
  const [skipIdle, setSkipIdle] = useState(true);

  useEffect(() => {
    const bytes = stored.loaded;
    if (bytes === null || screen.current === null) return;
    try {
      const opened = openSegment(bytes.plain);
      engine.current = new ReplayEngine(screen.current, opened.records, setState);
      engine.current.seek(0);
      setLoaded({ verified: bytes.verified, truncated: opened.truncated });
    } catch (error) {
      setFailure(error instanceof Error ? error : new Error(String(error)));
    }
    return () => {
      engine.current?.destroy();
      engine.current = null;
    };
  }, [stored.loaded]);

  useEffect(() => {
    if (engine.current) engine.current.speed = speed;
  }, [speed]);
  useEffect(() => {
    if (engine.current) engine.current.skipIdle = skipIdle;
  }, [skipIdle]);

  const failure = stored.failure ?? decodeFailure;
  if (failure) return <ErrorState error={failure} />;
  const duration = state?.durationMs ?? segment.durationMs;
  const position = state?.positionMs ?? 0;
  return (
    <Card className="space-y-3 p-4">
      <PlaybackControls
        ready={loaded !== null}
        playing={state?.playing ?? false}
        onPlayPause={() => (state?.playing ? engine.current?.pause() : engine.current?.play())}
        speed={speed}
        onSpeed={setSpeed}
        skipIdle={skipIdle}
        onSkipIdle={setSkipIdle}
        verified={loaded?.verified ?? null}
      />
      <div className="flex items-center gap-3">
        <span className="w-12 text-right font-mono text-xs text-fg-muted">{clock(position)}</span>
        <input
          type="range"
          className="flex-1 accent-primary"
          aria-label="Position in the recording"
          aria-valuetext={`${clock(position)} of ${clock(duration)}`}
          min={0}
          max={Math.max(1, duration)}
          step={100}
          value={position}
          disabled={loaded === null}
          onChange={(event) => engine.current?.seek(Number(event.target.value))}
        />
        <span className="w-12 font-mono text-xs text-fg-muted">{clock(duration)}</span>
      </div>
      <div className="relative h-[70vh] w-full overflow-hidden rounded-lg bg-black">
        <div ref={screen} className="h-full w-full" aria-label="Recorded screen" role="img" />
        <PointerMark screen={screen} pointer={state?.pointer ?? null} />
      </div>
    </Card>
  );
}

/** Where the person's pointer was (noVNC draws no cursor in view-only replay). */
function PointerMark({
  screen,
  pointer,
}: {
  screen: React.RefObject<HTMLDivElement | null>;
  pointer: Pointer | null;
}) {
  const canvas = screen.current?.querySelector("canvas");
  if (!pointer || !canvas || canvas.width === 0) return null;
  const scale = canvas.clientWidth / canvas.width;
  const box = canvas.getBoundingClientRect();
  const host = screen.current?.getBoundingClientRect();
  const left = box.left - (host?.left ?? 0) + pointer.x * scale;
  const top = box.top - (host?.top ?? 0) + pointer.y * scale;
  return (
    <span
      aria-hidden
      className={`pointer-events-none absolute size-3 -translate-x-1/2 -translate-y-1/2 rounded-full border-2 border-white ${
        pointer.mask === 0 ? "bg-primary/70" : "bg-danger"
      }`}
      style={{ left, top }}
    />
  );
}

/**
 * A terminal segment (asciicast v2) in asciinema-player, loaded only when a terminal recording is
 * opened. The player takes its speed and idle limit when it is made, so changing either makes a
 * new one at the same position.
 */
function TerminalPlayer({ segment }: { segment: RecordingSegment }) {
  const stored = useStoredSegment(segment);
  const host = useRef<HTMLDivElement | null>(null);
  const player = useRef<TerminalPlayerHandle | null>(null);
  const positionRef = useRef(0);
  const [failure, setFailure] = useState<Error | null>(null);
  const [ready, setReady] = useState(false);
  const [playing, setPlaying] = useState(false);
  const [position, setPosition] = useState(0);
  const [duration, setDuration] = useState(segment.durationMs / 1000);
  const [speed, setSpeed] = useState(1);
  const [skipIdle, setSkipIdle] = useState(true);
  const cast = useMemo(
    () => (stored.loaded === null ? null : new TextDecoder().decode(stored.loaded.plain)),
    [stored.loaded],
  );

  useEffect(() => {
    if (cast === null || host.current === null) return;
    let disposed = false;
    let made: TerminalPlayerHandle | null = null;
    (async () => {
      const [module] = await Promise.all([
        import("asciinema-player"),
        import("asciinema-player/dist/bundle/asciinema-player.css"),
      ]);
      if (disposed || host.current === null) return;
      made = module.create({ data: cast }, host.current, {
        speed,
        startAt: positionRef.current,
        preload: true,
        controls: false,
        fit: "width",
        terminalFontSize: "small",
        ...(skipIdle ? { idleTimeLimit: 2 } : {}),
      });
      made.addEventListener("play", () => setPlaying(true));
      made.addEventListener("playing", () => setPlaying(true));
      made.addEventListener("pause", () => setPlaying(false));
      made.addEventListener("ended", () => setPlaying(false));
      player.current = made;
      setReady(true);
    })().catch((error: unknown) => {
      if (!disposed) setFailure(error instanceof Error ? error : new Error(String(error)));
    });
    return () => {
      disposed = true;
      made?.dispose();
      player.current = null;
      setReady(false);
      setPlaying(false);
    };
  }, [cast, speed, skipIdle]);

  useEffect(() => {
    if (!ready) return;
    const timer = window.setInterval(() => {
      const current = player.current;
      if (current === null) return;
      positionRef.current = current.getCurrentTime();
      setPosition(positionRef.current);
      const total = current.getDuration();
      if (total !== undefined) setDuration(total);
    }, 200);
    return () => window.clearInterval(timer);
  }, [ready]);

  if (stored.failure ?? failure) return <ErrorState error={(stored.failure ?? failure) as Error} />;
  return (
    <Card className="space-y-3 p-4">
      <PlaybackControls
        ready={ready}
        playing={playing}
        onPlayPause={() => void (playing ? player.current?.pause() : player.current?.play())}
        speed={speed}
        onSpeed={setSpeed}
        skipIdle={skipIdle}
        onSkipIdle={setSkipIdle}
        verified={stored.loaded?.verified ?? null}
      />
      <div className="flex items-center gap-3">
        <span className="w-12 text-right font-mono text-xs text-fg-muted">{clock(position * 1000)}</span>
        <input
          type="range"
          className="flex-1 accent-primary"
          aria-label="Position in the recording"
          aria-valuetext={`${clock(position * 1000)} of ${clock(duration * 1000)}`}
          min={0}
          max={Math.max(0.1, duration)}
          // Any value: a step would round the end down and miss the last events.
          step="any"
          value={position}
          disabled={!ready}
          onChange={(event) => {
            const to = Number(event.target.value);
            positionRef.current = to;
            setPosition(to);
            void player.current?.seek(to);
          }}
        />
        <span className="w-12 font-mono text-xs text-fg-muted">{clock(duration * 1000)}</span>
      </div>
      <section
        ref={host}
        className="w-full overflow-hidden rounded-lg bg-black"
        aria-label="Recorded terminal"
      />
    </Card>
  );
}

/** A web app's access log: one row per request, as the gateway wrote it. */
function AccessLog({ segment }: { segment: RecordingSegment }) {
  const stored = useStoredSegment(segment);
  const log = useMemo(() => {
    if (stored.loaded === null) return null;
    try {
      return decodeAccessLog(new TextDecoder().decode(stored.loaded.plain));
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }, [stored.loaded]);
  const failure = stored.failure ?? (log instanceof Error ? log : null);
  if (failure) return <ErrorState error={failure} />;
  if (log === null || log instanceof Error) return <Skeleton className="h-40" />;
  return (
    <div className="space-y-3">
      <div className="flex flex-wrap items-center gap-3 text-sm text-fg-muted">
        <span>
          {formatCount(log.entries.length)} requests. Bodies and the values in query strings are never logged;
          only the names of query parameters are.
        </span>
        <Verified verified={stored.loaded?.verified ?? null} />
      </div>
      <DataTable
        dense
        columns={[
          { label: "Time" },
          { label: "Method" },
          { label: "Path" },
          { label: "Status", className: "text-right" },
          { label: "Bytes", className: "text-right" },
          { label: "Duration", className: "text-right" },
        ]}
      >
        {log.entries.map((entry, index) => (
          // Log lines have no identity but their place: the index is their key.
          <tr key={index}>
            <td className="px-3 py-2 whitespace-nowrap text-fg-muted">
              {formatPreciseTime(new Date(entry.at))}
            </td>
            <td className="px-3 py-2 font-mono">{entry.method}</td>
            <td className="px-3 py-2 font-mono break-all">
              {entry.path}
              {entry.query.length > 0 ? (
                <span className="text-fg-muted" title="Query parameter names (values are not logged)">
                  ?{entry.query.join("&")}
                </span>
              ) : null}
            </td>
            <td className="px-3 py-2 text-right font-mono">
              {entry.status}
              {entry.refused !== null ? (
                <Badge tone="warning" className="ml-2">
                  refused: {entry.refused}
                </Badge>
              ) : null}
            </td>
            <td className="px-3 py-2 text-right font-mono">{formatCount(entry.bytes)}</td>
            <td className="px-3 py-2 text-right font-mono">{formatCount(entry.durationMs)} ms</td>
          </tr>
        ))}
      </DataTable>
    </div>
  );
}
