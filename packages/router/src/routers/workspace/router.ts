import { NoInputSchema } from "@neosc/core/common";
import { StopWorkspaceOutputSchema, WorkspaceSessionSchema } from "@neosc/core/session";
import {
  CreateWorkspaceInputSchema,
  DeleteWorkspaceOutputSchema,
  LaunchWorkspaceInputSchema,
  ListWorkspacesInputSchema,
  ResetWorkspacesOutputSchema,
  StopWorkspaceInputSchema,
  UpdateWorkspaceInputSchema,
  WorkspaceIdInputSchema,
  WorkspaceSchema,
} from "@neosc/core/workspace";
import { CatalogueEntrySchema } from "@neosc/core/workspace-host";
import { z } from "zod";
import { launchWorkspace } from "../../domain/sessions/launch.ts";
import { stopWorkspace } from "../../domain/sessions/sessions.ts";
import {
  createWorkspace,
  deleteWorkspace,
  getWorkspace,
  listWorkspaces,
  resetWorkspaces,
  updateWorkspace,
} from "../../domain/workspaces/workspaces.ts";
import { procedureFor, router } from "../../trpc.ts";

export const workspaceRouter = router({
  /** Signed-in callers: what they may launch; admins: the whole catalogue, filtered. */
  list: procedureFor("workspace.list")
    .input(ListWorkspacesInputSchema)
    .output(z.array(CatalogueEntrySchema))
    .query(({ ctx, input }) => listWorkspaces(ctx, input)),

  /** Signed-in callers: one workspace they may launch (admins: any). */
  get: procedureFor("workspace.get")
    .input(WorkspaceIdInputSchema)
    .output(WorkspaceSchema)
    .query(({ ctx, input }) => getWorkspace(ctx, input.id)),

  /** Admins: adds a workspace. */
  create: procedureFor("workspace.create")
    .input(CreateWorkspaceInputSchema)
    .output(WorkspaceSchema)
    .mutation(({ ctx, input }) => createWorkspace(ctx, input)),

  /** Admins: changes a workspace. */
  update: procedureFor("workspace.update")
    .input(UpdateWorkspaceInputSchema)
    .output(WorkspaceSchema)
    .mutation(({ ctx, input }) => updateWorkspace(ctx, input)),

  /** Admins: removes a workspace and ends its sessions. */
  delete: procedureFor("workspace.delete")
    .input(WorkspaceIdInputSchema)
    .output(DeleteWorkspaceOutputSchema)
    .mutation(({ ctx, input }) => deleteWorkspace(ctx, input.id)),

  /** Signed-in callers whose role the workspace allows, subject to the policies. */
  launch: procedureFor("workspace.launch")
    .input(LaunchWorkspaceInputSchema)
    .output(WorkspaceSessionSchema)
    .mutation(({ ctx, input }) => launchWorkspace(ctx, input)),

  /** Signed-in callers: ends their own running sessions of a workspace. */
  stop: procedureFor("workspace.stop")
    .input(StopWorkspaceInputSchema)
    .output(StopWorkspaceOutputSchema)
    .mutation(({ ctx, input }) => stopWorkspace(ctx, input)),

  /** Admins: restores the default catalogue. */
  reset: procedureFor("workspace.reset")
    .input(NoInputSchema)
    .output(ResetWorkspacesOutputSchema)
    .mutation(({ ctx }) => resetWorkspaces(ctx)),
});
