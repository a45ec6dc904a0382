// The one error mapping: our errors, Ajv's, Fastify's and Temporal's become the right status and code.
import { ServiceError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { KeelError } from '../errors/keel-error.js';
import { RegistryError } from '../db/repositories/registry-errors.js';
import { SourceNotFoundError } from '../data/errors.js';
import { ModelLoadError, ModelNotServingError, PredictionInputError } from '../serving/errors.js';
import { isWorkflowClosedOrMissing, toErrorResponse } from './errors.js';

describe('toErrorResponse', () => {
  it('answers a KeelError with its code, the status the code table gives it, its message and details', () => {
    expect(toErrorResponse(new KeelError('CONFLICT', 'already decided', { runId: 'r1' }))).toEqual({
      status: 409,
      body: { error: { code: 'CONFLICT', message: 'already decided', details: { runId: 'r1' } } },
    });
  });

  it('maps an unknown workflow to 404 and a duplicate start to 409', () => {
    expect(toErrorResponse(new WorkflowNotFoundError('no such workflow', 'pipeline/m/1', undefined)).status).toBe(404);
    const duplicate = toErrorResponse(new WorkflowExecutionAlreadyStartedError('started', 'pipeline/m/1', 'pipeline'));
    expect(duplicate).toMatchObject({ status: 409, body: { error: { code: 'CONFLICT', details: { workflowId: 'pipeline/m/1' } } } });
  });

  it('maps an update rejected by the workflow to 422 with the failure message and type', () => {
    const cause = ApplicationFailure.create({ message: 'the requester cannot review their own run', type: 'FourEyes' });
    expect(toErrorResponse(new WorkflowUpdateFailedError('update failed', cause))).toEqual({
      status: 422,
      body: { error: { code: 'UNPROCESSABLE', message: 'the requester cannot review their own run', details: { type: 'FourEyes' } } },
    });
  });

  it('answers every domain error family through the same code table', () => {
    expect(toErrorResponse(new RegistryError('VERSION_NOT_DEPLOYABLE', 'never approved', { version: 2 }))).toMatchObject({
      status: 422,
      body: { error: { code: 'VERSION_NOT_DEPLOYABLE', details: { version: 2 } } },
    });
    expect(toErrorResponse(new PredictionInputError(1, 'x', 'must be a finite number'))).toEqual({
      status: 400,
      body: { error: { code: 'INVALID_ROW', message: 'rows[1].x: must be a finite number', details: { row: 1, field: 'x' } } },
    });
    expect(toErrorResponse(new ModelNotServingError('m', 'no_production_version'))).toMatchObject({
      status: 404,
      body: { error: { code: 'NO_PRODUCTION_VERSION', details: { model: 'm' } } },
    });
    expect(toErrorResponse(new ModelLoadError('m', 3, 'corrupt'))).toMatchObject({ status: 503, body: { error: { code: 'MODEL_UNAVAILABLE' } } });
    expect(toErrorResponse(new SourceNotFoundError('no such file', { path: '/x.csv' }))).toMatchObject({
      status: 422,
      body: { error: { code: 'SOURCE_NOT_FOUND', details: { path: '/x.csv' } } },
    });
  });

  it('when an update is refused with a failure typed by one of our codes, then answers as that code', () => {
    const cause = ApplicationFailure.create({ message: 'run r1 is deployed, not awaiting review', type: 'NOT_AWAITING_REVIEW' });
    expect(toErrorResponse(new WorkflowUpdateFailedError('update failed', cause))).toEqual({
      status: 409,
      body: { error: { code: 'NOT_AWAITING_REVIEW', message: 'run r1 is deployed, not awaiting review' } },
    });
  });

  it('recognises a closed workflow by its error class and gRPC status, never by message text', () => {
    const notFound = Object.assign(new Error('5 NOT_FOUND: workflow execution already completed'), { code: 5, details: 'x', metadata: {} });
    expect(isWorkflowClosedOrMissing(new WorkflowNotFoundError('gone', 'pipeline/m/1', undefined))).toBe(true);
    expect(isWorkflowClosedOrMissing(new ServiceError('cancel failed', { cause: notFound }))).toBe(true);
    expect(isWorkflowClosedOrMissing(new Error('workflow execution already completed'))).toBe(false);
  });

  it('maps an unreachable Temporal to 503', () => {
    const grpc = Object.assign(new Error('14 UNAVAILABLE: connection refused'), { code: 14, details: 'refused', metadata: {} });
    expect(toErrorResponse(new ServiceError('rpc failed', { cause: grpc })).status).toBe(503);
  });

  it('names the field of a validation failure, including a missing or an unknown property', () => {
    const missing = Object.assign(new Error('x'), {
      validationContext: 'body',
      validation: [{ instancePath: '', message: "must have required property 'name'", params: { missingProperty: 'name' } }],
    });
    expect(toErrorResponse(missing).body.error.message).toBe("body/name must have required property 'name'");
    const extra = Object.assign(new Error('x'), {
      validationContext: 'querystring',
      validation: [{ instancePath: '', message: 'must NOT have additional properties', params: { additionalProperty: 'limit' } }],
    });
    expect(toErrorResponse(extra)).toMatchObject({
      status: 400,
      body: { error: { code: 'VALIDATION_FAILED', message: 'querystring/limit is not an allowed property' } },
    });
  });

  it('keeps a Fastify 4xx status and hides anything unexpected behind a generic 500', () => {
    expect(toErrorResponse(Object.assign(new Error('Request body is too large'), { statusCode: 413 })).body.error.code).toBe(
      'PAYLOAD_TOO_LARGE',
    );
    expect(toErrorResponse(new TypeError('cannot read x of undefined at /srv/app.ts:1'))).toEqual({
      status: 500,
      body: { error: { code: 'INTERNAL', message: 'internal server error' } },
    });
  });
});
