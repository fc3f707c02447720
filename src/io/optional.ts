// The Arrow and DuckDB readers load their libraries on first use, so `require('fastloss')` and the
// NumPy readers never load them (optionalDependencies: `npm install --omit=optional` leaves them out).
import { ReadError } from './types';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function loadOptional(pkg: string, what: string): any {
  try {
     
    return require(pkg);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && (e as Error).message.includes(pkg))
      throw new ReadError(pkg, `is needed to read ${what} files and is not installed: npm install ${pkg}`);
    throw e;
  }
}
