import { ExternalLink, MonitorPlay, Square } from "lucide-react";
import { Link } from "react-router";
import { Button, type ButtonVariant, buttonClass } from "../../components/ui/button.tsx";

/**
 * "Open" (the session page; a new tab only for sessions that stored an absolute URL) and the button that
 * ends the session.
 */
export function RunningSessionActions({
  openHref,
  openVariant,
  endLabel,
  endAccessibleName,
  busy,
  onEnd,
}: {
  openHref: string | null;
  openVariant: ButtonVariant;
  endLabel: string;
  /** Names the workspace (and the person, for someone else's session), as the button's label. */
  endAccessibleName: string;
  busy: boolean | undefined;
  onEnd: () => void;
}) {
  return (
    <>
      {openHref?.startsWith("/") ? (
        <Link to={openHref} className={buttonClass(openVariant, "sm")}>
          <MonitorPlay aria-hidden className="size-4" />
          Open
        </Link>
      ) : openHref ? (
        <a
          href={openHref}
          target="_blank"
          rel="noopener noreferrer"
          className={buttonClass(openVariant, "sm")}
        >
          <ExternalLink aria-hidden className="size-4" />
          Open
        </a>
      ) : null}
      <Button
        size="sm"
        variant="secondary"
        loading={busy}
        onClick={onEnd}
        icon={<Square aria-hidden className="size-4" />}
        aria-label={endAccessibleName}
      >
        {endLabel}
      </Button>
    </>
  );
}
