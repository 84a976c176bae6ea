import type { RecordingSegment } from "@neosc/core/recording";
import { Pause, Play, ShieldCheck, ShieldX } from "lucide-react";
import { useEffect, useRef, useState } from "react";
import { Link, useParams } from "react-router";
import { Button } from "../../components/ui/button.tsx";
import { Badge, Card, EmptyState, ErrorState, PageHeader, Skeleton } from "../../components/ui/feedback.tsx";
import {
  openSegment,
  type Pointer,
  ReplayEngine,
  type ReplayState,
} from "../../features/replay/replay-engine.ts";
import { formatDateTime, formatDuration } from "../../lib/format.ts";
import { trpc } from "../../lib/trpc.ts";

const SPEEDS = [0.5, 1, 2, 4, 8];

function clock(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${String(seconds % 60).padStart(2, "0")}`;
}

function base64Bytes(data: string): Uint8Array {
  const binary = atob(data);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Admins: the recorded connections of one session, each replayable. */
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
        description="What the person's screen showed, with their pointer. Keystrokes are not recorded, because they can contain passwords. Each replay is audited."
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
                Connection {segment.segment} · {formatDateTime(segment.startedAt)} ·{" "}
                {formatDuration(segment.durationMs)}
                {segment.deletedAt !== null ? " (deleted by retention)" : ""}
              </Button>
            ))}
          </nav>
          {current !== undefined && current.deletedAt === null ? (
            <SegmentPlayer key={current.segment} segment={current} />
          ) : null}
        </div>
      )}
    </>
  );
}

function SegmentPlayer({ segment }: { segment: RecordingSegment }) {
  const utils = trpc.useUtils();
  const screen = useRef<HTMLDivElement | null>(null);
  const engine = useRef<ReplayEngine | null>(null);
  const [loaded, setLoaded] = useState<{ verified: boolean; truncated: boolean } | null>(null);
  const [failure, setFailure] = useState<Error | null>(null);
  const [state, setState] = useState<ReplayState | null>(null);
  const [speed, setSpeed] = useState(1);
  const [skipIdle, setSkipIdle] = useState(true);

  useEffect(() => {
    let cancelled = false;
    (async () => {
      const parts: Uint8Array[] = [];
      let offset: number | null = 0;
      while (offset !== null) {
        const piece = await utils.client.recording.chunk.query({
          sessionId: segment.sessionId,
          segment: segment.segment,
          offset,
        });
        parts.push(base64Bytes(piece.data));
        offset = piece.nextOffset;
      }
      const stored = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
      let at = 0;
      for (const part of parts) {
        stored.set(part, at);
        at += part.length;
      }
      const opened = await openSegment(stored, segment.sha256);
      if (cancelled || screen.current === null) return;
      engine.current = new ReplayEngine(screen.current, opened.records, setState);
      engine.current.seek(0);
      setLoaded({ verified: opened.verified, truncated: opened.truncated });
    })().catch((error: unknown) => {
      if (!cancelled) setFailure(error instanceof Error ? error : new Error(String(error)));
    });
    return () => {
      cancelled = true;
      engine.current?.destroy();
      engine.current = null;
    };
  }, [segment, utils]);

  useEffect(() => {
    if (engine.current) engine.current.speed = speed;
  }, [speed]);
  useEffect(() => {
    if (engine.current) engine.current.skipIdle = skipIdle;
  }, [skipIdle]);

  if (failure) return <ErrorState error={failure} />;
  const duration = state?.durationMs ?? segment.durationMs;
  const position = state?.positionMs ?? 0;
  return (
    <Card className="space-y-3 p-4">
      <div className="flex flex-wrap items-center gap-3">
        <Button
          size="sm"
          disabled={loaded === null}
          icon={
            state?.playing ? (
              <Pause aria-hidden className="size-4" />
            ) : (
              <Play aria-hidden className="size-4" />
            )
          }
          onClick={() => (state?.playing ? engine.current?.pause() : engine.current?.play())}
        >
          {state?.playing ? "Pause" : "Play"}
        </Button>
        <label className="flex items-center gap-2 text-sm text-fg">
          Speed
          <select
            className="rounded-md border border-line bg-surface px-2 py-1"
            value={speed}
            onChange={(event) => setSpeed(Number(event.target.value))}
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
            checked={skipIdle}
            onChange={(event) => setSkipIdle(event.target.checked)}
          />
          Skip idle gaps
        </label>
        {loaded === null ? (
          <Badge tone="neutral">Loading…</Badge>
        ) : loaded.verified ? (
          <Badge tone="success">
            <ShieldCheck aria-hidden className="mr-1 inline size-3" />
            Matches the audit log
          </Badge>
        ) : (
          <Badge tone="danger">
            <ShieldX aria-hidden className="mr-1 inline size-3" />
            Does not match the audit log: altered
          </Badge>
        )}
      </div>
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
