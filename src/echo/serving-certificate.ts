// The serving certificate, read from files and re-read when they change.
//
// The node agent (like kubelet) rotates a Secret volume by writing a new timestamped
// directory and atomically swapping the `..data` symlink, so the files named by the
// configuration change content without ever being half-written. We notice by watching
// the directories (fast path) and by re-reading on an interval (the safety net: inotify
// does not see every symlink swap on every filesystem). A pair that does not load (a
// writer that replaces cert and key one after the other, say) is skipped until it does;
// the last good pair keeps serving.
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { PortcullisError, errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { CertificateFiles } from './config.js';

export interface CertificateMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

export type CertificateListener = (options: SecureContextOptions) => void;

export class ServingCertificate {
  private material: CertificateMaterial;
  private readonly listeners = new Set<CertificateListener>();
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private lastRejected = '';

  private constructor(
    readonly files: CertificateFiles,
    material: CertificateMaterial,
    private readonly log: Logger,
  ) {
    this.material = material;
  }

  /** Reads and validates the files; throws PortcullisError('ECHO_BAD_CERTIFICATE') naming the file at fault. */
  static async load(files: CertificateFiles, log: Logger): Promise<ServingCertificate> {
    const material = await readMaterial(files);
    const problem = validate(material);
    if (problem) throw new PortcullisError('ECHO_BAD_CERTIFICATE', `cannot use certificate ${files.certFile} with key ${files.keyFile}: ${problem}`);
    const certificate = new ServingCertificate(files, material, log);
    log.info('serving certificate loaded', describe(material.cert));
    return certificate;
  }

  /** Options for tls.createServer / setSecureContext, including the client CA when configured. */
  secureContextOptions(): SecureContextOptions {
    return { cert: this.material.cert, key: this.material.key, ...(this.material.ca ? { ca: this.material.ca } : {}) };
  }

  get verifiesClients(): boolean {
    return this.files.clientCaFile !== undefined;
  }

  onChange(listener: CertificateListener): void {
    this.listeners.add(listener);
  }

  /** Starts noticing rotations. */
  watch(intervalMs: number): void {
    this.timer = setInterval(() => void this.check(), intervalMs);
    this.timer.unref();
    const directories = new Set([this.files.certFile, this.files.keyFile, this.files.clientCaFile].filter((f): f is string => !!f).map((f) => dirname(f)));
    for (const directory of directories) {
      try {
        const watcher = watch(directory, { persistent: false }, () => void this.check());
        watcher.on('error', () => watcher.close());
        this.watchers.push(watcher);
      } catch (err) {
        this.log.debug('cannot watch certificate directory; relying on the interval', { directory, error: errorMessage(err) });
      }
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const watcher of this.watchers) watcher.close();
    this.watchers.length = 0;
  }

  /** Re-reads the files once; resolves after listeners saw a change, if any. Concurrent calls share one read. */
  check(): Promise<void> {
    this.checking ??= this.checkOnce().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async checkOnce(): Promise<void> {
    let next: CertificateMaterial;
    try {
      next = await readMaterial(this.files);
    } catch (err) {
      this.reject(errorMessage(err));
      return;
    }
    if (sameMaterial(next, this.material)) return;
    const problem = validate(next);
    if (problem) {
      this.reject(problem);
      return;
    }
    this.material = next;
    this.lastRejected = '';
    this.log.info('serving certificate reloaded', describe(next.cert));
    const options = this.secureContextOptions();
    for (const listener of this.listeners) listener(options);
  }

  private reject(problem: string): void {
    if (problem === this.lastRejected) return;
    this.lastRejected = problem;
    this.log.warn('changed certificate files do not load; still serving the previous certificate', {
      certFile: this.files.certFile,
      keyFile: this.files.keyFile,
      problem,
    });
  }
}

async function readMaterial(files: CertificateFiles): Promise<CertificateMaterial> {
  const read = async (file: string, what: string): Promise<Buffer> => {
    try {
      return await readFile(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : errorMessage(err);
      throw new PortcullisError('ECHO_BAD_CERTIFICATE', `cannot read TLS ${what} ${file}: ${reason}`);
    }
  };
  // One after the other, so that the error names the first file at fault.
  const cert = await read(files.certFile, 'certificate');
  const key = await read(files.keyFile, 'private key');
  const ca = files.clientCaFile ? await read(files.clientCaFile, 'client CA bundle') : undefined;
  return ca ? { cert, key, ca } : { cert, key };
}

/** Returns why the material cannot serve, or undefined when it can. */
function validate(material: CertificateMaterial): string | undefined {
  try {
    createSecureContext({ cert: material.cert, key: material.key, ...(material.ca ? { ca: material.ca } : {}) });
    new X509Certificate(material.cert);
    return undefined;
  } catch (err) {
    return errorMessage(err);
  }
}

function sameMaterial(a: CertificateMaterial, b: CertificateMaterial): boolean {
  const sameCa = a.ca === undefined ? b.ca === undefined : b.ca !== undefined && a.ca.equals(b.ca);
  return a.cert.equals(b.cert) && a.key.equals(b.key) && sameCa;
}

function describe(cert: Buffer): Record<string, unknown> {
  const x509 = new X509Certificate(cert);
  return { subject: x509.subject.replace(/\n/g, ', '), serial: x509.serialNumber.toLowerCase(), notAfter: x509.validTo, subjectAltName: x509.subjectAltName };
}

/** True when the certificate file exists (the key is checked at load). Used to decide whether default TLS listeners start. */
export async function certificatePresent(files: CertificateFiles): Promise<boolean> {
  try {
    await readFile(files.certFile);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}
