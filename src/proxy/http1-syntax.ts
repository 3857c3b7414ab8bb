// HTTP/1.1 syntax tables shared by the lean server (http1-server.ts) and the lean
// upstream client (http1-client.ts), so both accept and refuse exactly the same bytes.

/** tchar (RFC 9110 §5.6.2): the bytes of a method or a field name. */
export const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TOKEN[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;

/** A whole token, for strings (what node:http's `checkIsHttpToken` accepts). */
export const TOKEN_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * field-vchar, SP and HTAB (RFC 9110 §5.5), obs-text included as node:http accepts it.
 * Never CR, LF, NUL or another control byte: those would let a value split a message.
 */
export const FIELD_VALUE = new Uint8Array(256);
FIELD_VALUE[0x09] = 1;
for (let c = 0x20; c <= 0x7e; c++) FIELD_VALUE[c] = 1;
for (let c = 0x80; c <= 0xff; c++) FIELD_VALUE[c] = 1;

/** Some byte a field value may not hold, for strings (node:http's `checkInvalidHeaderChar`). */
export const INVALID_FIELD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

type Latin1Sliceable = Buffer & { latin1Slice?(start: number, end: number): string };

/**
 * `buffer.toString('latin1', start, end)` without its argument checks and two JavaScript
 * layers: node:buffer's own `latin1Slice`, which every Node release has had (a plain
 * `toString` where it is missing). Called for every header field on the hot paths.
 */
export const latin1: (buffer: Buffer, start: number, end: number) => string =
  typeof (Buffer.prototype as Latin1Sliceable).latin1Slice === 'function'
    ? (buffer, start, end) => (buffer as Latin1Sliceable).latin1Slice!(start, end)
    : (buffer, start, end) => buffer.toString('latin1', start, end);
