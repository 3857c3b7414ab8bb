// The PortcullisError a synchronous call throws, for assertions on its code and message.
import { expect } from 'chai';
import { PortcullisError } from '../../src/lib/errors.js';

export function errorOf(fn: () => unknown): PortcullisError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(PortcullisError);
    return err as PortcullisError;
  }
  throw new Error('expected a PortcullisError');
}
