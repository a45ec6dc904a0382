// Awaits a promise that must reject, asserts the error's class and hands it back typed for further assertions.
import { expect } from 'vitest';

export async function rejectionOf<E>(promise: Promise<unknown>, errorClass: abstract new (...args: never[]) => E): Promise<E> {
  const error = await promise.then(
    () => {
      throw new Error(`expected a rejection with ${errorClass.name}`);
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(errorClass);
  return error as E;
}
