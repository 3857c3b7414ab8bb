// The IR: the one contract between controller and proxy. Import from here.
export type * from './types.js';
export { IrProblem, IrProblemCode, IrValidationError } from './problems.js';
export { validateConfig, assertValidConfig, MAX_REPORTED_PROBLEMS, type ValidationResult } from './validate.js';
export { compileFullMatchRegex, MAX_REGEX_LENGTH, type RegexCompilation } from './regex.js';
export { hostnameCovers, hostnamesIntersect, isValidHostname, isValidPreciseHostname, isWildcardHostname, normalizeHostname } from './hostname.js';
