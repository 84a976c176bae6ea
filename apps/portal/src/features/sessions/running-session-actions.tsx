import { ExternalLink, MonitorPlay, Square } from "lucide-react";
import { Link } from "react-router";
import { Button, type ButtonVariant, buttonClass } from "../../components/ui/button.tsx";

/**
 * "Open" for a running session: the session page, or a new tab for sessions that stored an
 * absolute URL. Its name says which workspace it opens.
 */
export function OpenSessionLink({
  href,
  variant,
  workspaceName,
}: {
  href: string | null;
  variant: ButtonVariant;
  workspaceName: string;
}) {
  if (href === null) return null;
  if (href.startsWith("/")) {
    return (
      <Link to={href} className={buttonClass(variant, "sm")} aria-label={`Open ${workspaceName}`}>
        <MonitorPlay aria-hidden className="size-4" />
        Open
      </Link>
    );
  }
  return (
    <a
      href={href}
      target="_blank"
      rel="noopener noreferrer"
      className={buttonClass(variant, "sm")}
      aria-label={`Open ${workspaceName} (new tab)`}
    >
      <ExternalLink aria-hidden className="size-4" />
      Open
    </a>
  );
}

/** "Open" and the button that ends the session. */
export function RunningSessionActions({
  openHref,
  openVariant,
  endLabel,
  endAccessibleName,
  workspaceName,
  busy,
  onEnd,
}: {
  openHref: string | null;
  openVariant: ButtonVariant;
  endLabel: string;
  /** Names the workspace (and the person, for someone else's session), as the button's label. */
  endAccessibleName: string;
  workspaceName: string;
  busy: boolean | undefined;
  onEnd: () => void;
}) {
  return (
    <>
      <OpenSessionLink href={openHref} variant={openVariant} workspaceName={workspaceName} />
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
