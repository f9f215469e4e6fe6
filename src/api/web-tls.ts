/**
 * The dashboard's HTTPS certificate: the user's own, or a self-signed ECDSA
 * P-256 certificate generated on first use into the home (key file 0600) and
 * reused afterwards, so the browser's exception survives restarts.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto, randomBytes } from 'node:crypto';
import { readFile, writeFile, rename, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isIP } from 'node:net';

export const UI_CERT_FILE = 'ui-cert.pem';
export const UI_KEY_FILE = 'ui-key.pem';
export const UI_CERT_VALIDITY_DAYS = 825;

export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
}

async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, data, { mode, flag: 'wx' });
  await rename(tmp, path);
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}

/** Generates a self-signed certificate valid for loopback plus `hosts`. `now` fixes notBefore. */
export async function generateSelfSigned(hosts: readonly string[], now: Date = new Date()): Promise<TlsMaterial> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const names = new Map<string, { type: 'ip' | 'dns'; value: string }>();
  for (const h of ['127.0.0.1', '::1', 'localhost', ...hosts]) {
    if (h === '0.0.0.0' || h === '::') continue;
    names.set(h, { type: isIP(h) ? 'ip' : 'dns', value: h });
  }
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomBytes(16).toString('hex').replace(/^[89a-f]/, '1'),
      name: 'CN=sealsync dashboard',
      notBefore: now,
      notAfter: new Date(now.getTime() + UI_CERT_VALIDITY_DAYS * 86_400_000),
      keys,
      signingAlgorithm: alg,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([...names.values()]),
      ],
    },
    webcrypto as unknown as Crypto,
  );
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { cert: cert.toString('pem') + '\n', key: pem('PRIVATE KEY', pkcs8) };
}

/** Loads the home's dashboard certificate, creating it on first use. */
export async function loadOrCreateSelfSigned(home: string, hosts: readonly string[]): Promise<TlsMaterial> {
  const certPath = join(home, UI_CERT_FILE);
  const keyPath = join(home, UI_KEY_FILE);
  try {
    return { cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8') };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(home, { recursive: true, mode: 0o700 });
  const material = await generateSelfSigned(hosts);
  await writeAtomic(keyPath, material.key, 0o600);
  await writeAtomic(certPath, material.cert, 0o644);
  return material;
}
