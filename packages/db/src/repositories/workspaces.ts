import { randomUUID } from "node:crypto";
import type {
  CreateWorkspaceInput,
  ListWorkspacesInput,
  SshCredential,
  UpdateWorkspaceInput,
  Workspace,
} from "@neosc/core/workspace";
import type { Collections, WorkspaceDoc } from "../collections.ts";
import { defined } from "../collections.ts";
import { isDuplicateKeyError, mapDuplicate } from "../errors.ts";
import { sharedCache } from "./cache.ts";

export interface WorkspaceFilter extends NonNullable<ListWorkspacesInput> {
  /** Only workspaces of these organizations (`null` = global workspaces). */
  organizationIds?: (string | null)[];
}

export interface WorkspacesRepository {
  create(input: CreateWorkspaceInput): Promise<Workspace>;
  findById(id: string): Promise<Workspace | null>;
  findBySlug(slug: string): Promise<Workspace | null>;
  /** The static target's VNC password, for the workspace host only (never part of a Workspace). */
  findVncPassword(id: string): Promise<string | null>;
  /** The ssh target's password or private key, for the workspace host only (never part of a Workspace). */
  findSshCredential(id: string): Promise<SshCredential | null>;
  /**
   * Sorted by name. `role` keeps workspaces whose allowedRoles contain it; `tag` one tag;
   * `search` substring of name/slug/description.
   */
  list(filter?: WorkspaceFilter): Promise<Workspace[]>;
  update(id: string, patch: UpdateWorkspaceInput["patch"]): Promise<Workspace | null>;
  /** True when it existed. */
  delete(id: string): Promise<boolean>;
  /**
   * Restores a catalogue: workspaces whose slug is in `inputs` are overwritten in place (ids kept,
   * so running sessions stay linked), all others removed (their ids returned).
   */
  replaceAll(inputs: CreateWorkspaceInput[]): Promise<{ workspaces: Workspace[]; removedIds: string[] }>;
  countAll(): Promise<{ total: number; enabled: number }>;
  /** How many workspaces belong to the organization, read from the database (not the cached copy). */
  countInOrganization(organizationId: string): Promise<number>;
}

const UNIQUE = ["slug", "_id"] as const;

function toWorkspace(doc: WorkspaceDoc): Workspace {
  return {
    id: doc._id,
    slug: doc.slug,
    name: doc.name,
    description: doc.description,
    kind: doc.kind,
    image: doc.image ?? null,
    url: doc.url ?? null,
    driver: doc.driver ?? null,
    program: doc.program ?? null,
    target: doc.target ?? null,
    hasVncPassword: typeof doc.vncPassword === "string",
    sshTarget: doc.sshTarget ?? null,
    hasSshCredential: doc.sshCredential != null,
    cpu: doc.cpu,
    memoryMb: doc.memoryMb,
    // Catalogues stored before warm pools existed keep none.
    warm: doc.warm ?? 0,
    allowedRoles: doc.allowedRoles,
    organizationId: doc.organizationId ?? null,
    enabled: doc.enabled,
    tags: doc.tags ?? [],
    recording: doc.recording ?? null,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
  };
}

function fieldsOf(input: CreateWorkspaceInput) {
  return {
    slug: input.slug,
    name: input.name,
    description: input.description,
    kind: input.kind,
    image: input.image,
    url: input.url,
    driver: input.driver ?? null,
    program: input.program ?? null,
    target: input.target ?? null,
    vncPassword: input.vncPassword ?? null,
    sshTarget: input.sshTarget ?? null,
    sshCredential: input.sshCredential ?? null,
    cpu: input.cpu,
    memoryMb: input.memoryMb,
    warm: input.warm,
    allowedRoles: input.allowedRoles,
    organizationId: input.organizationId,
    enabled: input.enabled,
    tags: input.tags,
    recording: input.recording ?? null,
  };
}

/** Whether a workspace passes a list filter (the same rules as a query would apply). */
function passes(doc: Workspace, filter: WorkspaceFilter): boolean {
  if (filter.kind !== undefined && doc.kind !== filter.kind) return false;
  if (filter.tag !== undefined && !(doc.tags ?? []).includes(filter.tag)) return false;
  if (filter.role !== undefined && !doc.allowedRoles.includes(filter.role)) return false;
  if (filter.enabled !== undefined && doc.enabled !== filter.enabled) return false;
  if (filter.organizationIds !== undefined && !filter.organizationIds.includes(doc.organizationId ?? null)) {
    return false;
  }
  if (filter.search) {
    const needle = filter.search.toLowerCase();
    return [doc.name, doc.slug, doc.description].some((text) => text.toLowerCase().includes(needle));
  }
  return true;
}

const byNameThenId = (a: Workspace, b: Workspace) =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

export function createWorkspacesRepository(
  collections: Collections,
  clock: () => Date,
  options: { cacheMaxAgeMs: number },
): WorkspacesRepository {
  const workspaces = collections.workspaces;
  /*
   * The whole catalogue, shared by every request of this replica (see cache.ts): the dashboard
   * filters it in memory instead of querying. Secrets stay out of the copy.
   */
  const catalogue = sharedCache({
    markers: collections.markers,
    versionId: "catalogue-version",
    maxAgeMs: options.cacheMaxAgeMs,
    load: async () => (await workspaces.find({}).toArray()).map(toWorkspace).sort(byNameThenId),
  });

  async function upsertBySlug(input: CreateWorkspaceInput): Promise<WorkspaceDoc> {
    const now = clock();
    const write = () =>
      workspaces.findOneAndUpdate(
        { slug: input.slug },
        { $set: { ...fieldsOf(input), updatedAt: now }, $setOnInsert: { _id: randomUUID(), createdAt: now } },
        { upsert: true, returnDocument: "after" },
      );
    let doc: WorkspaceDoc | null;
    try {
      doc = await write();
    } catch (error) {
      // Two resets at once: both tried to insert this slug; the second now finds the first's.
      if (!isDuplicateKeyError(error)) throw error;
      doc = await write();
    }
    if (!doc) throw new Error(`upsert of workspace ${input.slug} returned nothing`);
    return doc;
  }

  return {
    async create(input) {
      const now = clock();
      const doc: WorkspaceDoc = { _id: randomUUID(), ...fieldsOf(input), createdAt: now, updatedAt: now };
      try {
        await mapDuplicate(() => workspaces.insertOne(doc), {
          entity: "workspace",
          collection: workspaces,
          written: doc,
          unique: UNIQUE,
        });
      } finally {
        await catalogue.changed();
      }
      return toWorkspace(doc);
    },

    async findById(id) {
      const doc = await workspaces.findOne({ _id: id });
      return doc ? toWorkspace(doc) : null;
    },

    async findVncPassword(id) {
      const doc = await workspaces.findOne({ _id: id }, { projection: { vncPassword: 1 } });
      return typeof doc?.vncPassword === "string" ? doc.vncPassword : null;
    },

    async findSshCredential(id) {
      const doc = await workspaces.findOne({ _id: id }, { projection: { sshCredential: 1 } });
      return doc?.sshCredential ?? null;
    },

    async findBySlug(slug) {
      const doc = await workspaces.findOne({ slug });
      return doc ? toWorkspace(doc) : null;
    },

    async list(filter: WorkspaceFilter = {}) {
      // Copies: the cached objects are shared by every request.
      return (await catalogue.get()).filter((workspace) => passes(workspace, filter)).map((w) => ({ ...w }));
    },

    async update(id, patch: UpdateWorkspaceInput["patch"]) {
      const set = defined(patch);
      try {
        const doc = await mapDuplicate(
          () =>
            workspaces.findOneAndUpdate(
              { _id: id },
              { $set: { ...set, updatedAt: clock() } },
              { returnDocument: "after" },
            ),
          { entity: "workspace", collection: workspaces, written: { ...set, _id: id }, unique: UNIQUE },
        );
        return doc ? toWorkspace(doc) : null;
      } finally {
        await catalogue.changed();
      }
    },

    async delete(id) {
      try {
        const result = await workspaces.deleteOne({ _id: id });
        return result.deletedCount === 1;
      } finally {
        await catalogue.changed();
      }
    },

    async replaceAll(inputs) {
      try {
        const slugs = inputs.map((input) => input.slug);
        const removed = await workspaces
          .find({ slug: { $nin: slugs } }, { projection: { _id: 1 } })
          .toArray();
        const removedIds = removed.map((doc) => doc._id);
        if (removedIds.length > 0) await workspaces.deleteMany({ _id: { $in: removedIds } });
        const docs: WorkspaceDoc[] = [];
        for (const input of inputs) docs.push(await upsertBySlug(input));
        return { workspaces: docs.map(toWorkspace), removedIds };
      } finally {
        await catalogue.changed();
      }
    },

    async countAll() {
      const [total, enabled] = await Promise.all([
        workspaces.countDocuments({}),
        workspaces.countDocuments({ enabled: true }),
      ]);
      return { total, enabled };
    },

    countInOrganization(organizationId) {
      return workspaces.countDocuments({ organizationId });
    },
  };
}
