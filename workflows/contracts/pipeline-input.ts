// The pipeline workflow's argument, as the API (or a Temporal Schedule) starts it.
import { Type, type Static } from '@sinclair/typebox';
import { ActorSchema } from './actor.js';
import { RunSpecSchema } from './run-spec.js';

export const PipelineInputSchema = Type.Object({
  /** Absent for runs started by a Temporal Schedule: derived from the workflow id Temporal makes unique. */
  runId: Type.Optional(Type.String()),
  spec: RunSpecSchema,
  requestedBy: ActorSchema,
  scheduleId: Type.Optional(Type.String()),
  /** Task queue of the training activity (default `training`); tests and dedicated GPU pools set their own. */
  trainingTaskQueue: Type.Optional(Type.String()),
});
export type PipelineInput = Static<typeof PipelineInputSchema>;
