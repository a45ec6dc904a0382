// /v1/models/:name/policy: the model's approval policy (auto-approval and its own gates), set by ops, read by the
// people who work with runs. Never part of a run spec: a run's requester cannot approve their own run.
import { Type } from '@sinclair/typebox';
import { getApprovalPolicyView, setApprovalPolicy } from '../models/approval-policy-service.js';
import { actorOf } from '../auth/principal.js';
import { defineRoutes } from '../route-plugin.js';
import { GatesSchema, ModelName } from '../../workflows/contracts/run-spec.js';
import { ErrorRef } from '../schemas.js';

const ApprovalPolicyBody = Type.Object(
  {
    autoApprove: Type.Boolean({ description: 'Decide runs without a person when every gate passes against a fair champion comparison.' }),
    allowFirstDeployment: Type.Optional(
      Type.Boolean({ description: 'Auto-approve even with no production version to compare with (default false: a person reviews the first).' }),
    ),
    gates: Type.Optional(GatesSchema),
  },
  { additionalProperties: false },
);

const ApprovalPolicyView = Type.Object({
  model: Type.String(),
  version: Type.Integer({ description: '0: no policy set (every run waits for a person).' }),
  autoApprove: Type.Boolean(),
  allowFirstDeployment: Type.Boolean(),
  gates: Type.Record(Type.String(), Type.Record(Type.String(), Type.Number())),
  updatedBy: Type.Union([Type.String(), Type.Null()]),
  updatedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

export default defineRoutes(async (app, { db }) => {
  app.get(
    '/v1/models/:name/policy',
    {
      config: { roles: ['engineer', 'reviewer', 'ops'] },
      schema: {
        tags: ['models'],
        summary: "The model's approval policy (version 0: none, a person reviews every run)",
        params: Type.Object({ name: ModelName }),
        response: { 200: ApprovalPolicyView, 400: ErrorRef },
      },
    },
    async (request) => getApprovalPolicyView(db, request.params.name),
  );

  app.put(
    '/v1/models/:name/policy',
    {
      config: { roles: ['ops'] },
      schema: {
        tags: ['models'],
        summary: "Set the model's approval policy (ops): auto-approval, first deployments, its own required gates; audited, versioned",
        params: Type.Object({ name: ModelName }),
        body: ApprovalPolicyBody,
        response: { 200: ApprovalPolicyView, 400: ErrorRef },
      },
    },
    async (request) => setApprovalPolicy(db, request.params.name, request.body, actorOf(request)),
  );
});
