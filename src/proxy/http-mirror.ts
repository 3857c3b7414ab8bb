// Request mirroring (HTTPRequestMirrorFilter): which requests are copied, and where the
// copies' answers go (nowhere). The forwarder sends the copies (HttpForwarder.sendMirrors)
// beside the real request; rules without mirrors never reach any of this.
import type { HeaderMap } from './http-filters.js';
import type { ResponseSink } from './http-forwarder.js';

/** A copy that gets no answer within this long is given up (when the rule sets no backendRequest timeout). */
export const MIRROR_TIMEOUT_MS = 30_000;

/** HTTPRequestMirrorFilter percent / fraction: whether this request is one of the share copied. */
export function mirrorChosen(share: { readonly numerator: number; readonly denominator: number } | undefined): boolean {
  return share === undefined || Math.random() * share.denominator < share.numerator;
}

/** Where a mirror's answer goes: read and dropped. */
export const DISCARDING_SINK: ResponseSink = {
  headersSent: false,
  status: 0,
  start(_status: number, _headers: HeaderMap): void {},
  write(): boolean {
    return true;
  },
  onceDrain(callback: () => void): void {
    callback();
  },
  end(): void {},
  abort(): void {},
  onClientGone(): void {},
};
