import {
  ListRecordingsInputSchema,
  ListRecordingsOutputSchema,
  RecordingChunkInputSchema,
  RecordingChunkOutputSchema,
  VerifyRecordingsInputSchema,
  VerifyRecordingsOutputSchema,
} from "@neosc/core/recording";
import { listRecordings, recordingChunk, verifyRecordings } from "../../domain/recordings/recordings.ts";
import { procedureFor, router } from "../../trpc.ts";

export const recordingRouter = router({
  /** Admins: the recorded segments of a session (from the audit chain). */
  list: procedureFor("recording.list")
    .input(ListRecordingsInputSchema)
    .output(ListRecordingsOutputSchema)
    .query(({ ctx, input }) => listRecordings(ctx, input)),

  /** Admins: a piece of a stored segment for replay or download (the first piece is audited). */
  chunk: procedureFor("recording.chunk")
    .input(RecordingChunkInputSchema)
    .output(RecordingChunkOutputSchema)
    .query(({ ctx, input }) => recordingChunk(ctx, input)),

  /** Admins: re-hashes stored segments against their audit entries and names the bad ones. */
  verify: procedureFor("recording.verify")
    .input(VerifyRecordingsInputSchema)
    .output(VerifyRecordingsOutputSchema)
    .query(({ ctx, input }) => verifyRecordings(ctx, input)),
});
