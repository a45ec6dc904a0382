// A trainer parameter out of range, naming it: the API refuses the run spec with a 400 naming the field, and the
// training activity fails the run (a RangeError from the parameter checks is the spec's fault, never retried).

/** Largest value of a 32-bit signed integer: LightGBM's integer parameters are C ints, and so are ours. */
export const INT32_MAX = 2_147_483_647;

export class TrainerParamError extends RangeError {
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(message);
    this.name = 'TrainerParamError';
  }
}
