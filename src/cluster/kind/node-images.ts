// Which kindest/node image runs which Kubernetes version. kind supports a node image
// only with the kind release that built it, and a tag on Docker Hub may point at a
// build for another release, so images are pinned by digest (kind's release notes:
// "You must use the @sha256 digest to guarantee an image built for this release").
//
// Source: the release notes of kind v0.33.0, "Images pre-built for this release"
// (https://github.com/kubernetes-sigs/kind/releases/tag/v0.33.0). To move to a newer
// kind, replace `pinnedKindVersion` and this table from that release's notes, and the
// KIND_VERSION of .github/workflows/conformance.yml (a test checks they agree).
import { PortcullisError } from '../../lib/errors.js';

export const pinnedKindVersion = 'v0.33.0';

export interface NodeImage {
  /** Full Kubernetes version of the image, e.g. `v1.35.8`. */
  kubernetesVersion: string;
  /** `kindest/node:<tag>@sha256:<digest>`. */
  image: string;
}

export const kindNodeImages: readonly NodeImage[] = [
  { kubernetesVersion: 'v1.37.0', image: 'kindest/node:v1.37.0@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5' },
  { kubernetesVersion: 'v1.36.4', image: 'kindest/node:v1.36.4@sha256:099e049362a1526b2db71494e1947aae99bd16290d7c895f2b7ea312e3cbfaed' },
  { kubernetesVersion: 'v1.35.8', image: 'kindest/node:v1.35.8@sha256:07b2536e30b803ed61d1677a79df6115f798ce64c80f9e22f6ed45afd09323c0' },
  { kubernetesVersion: 'v1.34.11', image: 'kindest/node:v1.34.11@sha256:44e222ee2132dab25ff87301682f89eb82c7880ea3a1bf543bfe9708fd08d67d' },
];

/** kind's own default for the pinned release: the newest image it ships. */
export const defaultKindNodeImage: NodeImage = kindNodeImages[0]!;

const versionPattern = /^v?(\d+)\.(\d+)(?:\.(\d+))?$/;

/**
 * The node image for `--k8s-version`: a minor (`1.35`, `v1.35`) picks the patch
 * release kind built for it; a full version (`v1.35.8`) must be exactly that one.
 */
export function nodeImageFor(kubernetesVersion: string): NodeImage {
  const match = versionPattern.exec(kubernetesVersion.trim());
  const known = kindNodeImages.map((entry) => entry.kubernetesVersion).join(', ');
  if (!match) {
    throw new PortcullisError('BAD_K8S_VERSION', `--k8s-version "${kubernetesVersion}" is not a Kubernetes version: use a minor such as 1.35 or one of ${known}`);
  }
  const [, major, minor, patch] = match;
  const wanted = patch === undefined ? `v${major}.${minor}.` : `v${major}.${minor}.${patch}`;
  const found = kindNodeImages.find((entry) => (patch === undefined ? entry.kubernetesVersion.startsWith(wanted) : entry.kubernetesVersion === wanted));
  if (!found) {
    throw new PortcullisError(
      'NO_KIND_NODE_IMAGE',
      `kind ${pinnedKindVersion} has no node image for Kubernetes ${kubernetesVersion}: use --k8s-version with one of ${known}`,
    );
  }
  return found;
}
