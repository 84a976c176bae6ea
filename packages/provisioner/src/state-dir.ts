import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * Per-session records of a driver on disk (one JSON file per session, folder mode 0700), so a
 * restarted host finds the sessions it ran instead of keeping them in process memory.
 */
export class SessionRecords<T extends { sessionId: string }> {
  constructor(readonly dir: string) {}

  private file(sessionId: string): string {
    return join(this.dir, `${safeSessionId(sessionId)}.json`);
  }

  async read(sessionId: string): Promise<T | null> {
    try {
      return JSON.parse(await readFile(this.file(sessionId), "utf8")) as T;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
  }

  async write(record: T): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFile(this.file(record.sessionId), JSON.stringify(record), { mode: 0o600 });
  }

  async remove(sessionId: string): Promise<void> {
    await rm(this.file(sessionId), { force: true });
  }

  async all(): Promise<T[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    const records: T[] = [];
    for (const name of names.filter((entry) => entry.endsWith(".json"))) {
      const record = await this.read(name.slice(0, -".json".length));
      if (record !== null) records.push(record);
    }
    return records;
  }
}

/** Session ids become file and folder names: only UUID-like ids are accepted. */
export function safeSessionId(sessionId: string): string {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(sessionId))
    throw new Error(`unusable session id ${JSON.stringify(sessionId)}`);
  return sessionId;
}
