import { Button } from "./button.tsx";

/** The pieces of an infinite query that paging needs. */
export interface PagedQuery {
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage: () => Promise<unknown>;
}

/** Fetches the next page of a cursor-paged list; at the end, says so (or shows nothing). */
export function LoadMore({
  query,
  label = "Load more",
  end,
}: {
  query: PagedQuery;
  label?: string;
  end?: string;
}) {
  if (query.hasNextPage) {
    return (
      <Button
        variant="secondary"
        loading={query.isFetchingNextPage}
        onClick={() => void query.fetchNextPage()}
      >
        {label}
      </Button>
    );
  }
  return end ? <p className="text-xs text-fg-muted">{end}</p> : null;
}
