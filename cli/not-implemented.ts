import { runAction } from './action.js';
import { KeytrailError } from '../db/errors.js';

/** Placeholder action for a command whose issue has not landed yet: says so and exits 1. */
export function notImplemented(name: string) {
  return runAction(async () => {
    throw new KeytrailError(`\`${name}\` is not implemented yet`);
  });
}
