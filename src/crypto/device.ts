/**
 * Device identity: an Ed25519 key pair and a long-lived self-signed X.509
 * certificate, used as the TLS 1.3 key/cert of every peer connection. Peers
 * pin each other by the device id (hash of the SubjectPublicKeyInfo), not by
 * any CA, so the certificate's names and dates carry no trust.
 */
import { X509Certificate as NodeX509Certificate, createHash, webcrypto } from 'node:crypto';
import { SealsyncError } from '../errors.js';
import { formatDeviceId } from './device-id.js';

export interface DeviceIdentity {
  readonly privateKeyPem: string;
  readonly certificatePem: string;
  readonly deviceId: string;
}

export const CERT_VALIDITY_YEARS = 50;
/** Backdate notBefore so a peer whose clock runs slow still accepts the certificate. */
export const CERT_BACKDATE_MS = 24 * 60 * 60 * 1000;
export const MAX_DEVICE_NAME_LENGTH = 64;
const DEFAULT_COMMON_NAME = 'sealsync';

/**
 * @peculiar/x509 is loaded on first use: only creating an identity (init)
 * needs it, and it is ~9 MiB of RSS in every running daemon otherwise.
 */
async function loadX509(): Promise<typeof import('@peculiar/x509')> {
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  return x509;
}

function commonName(name: string): string {
  // Only printable ASCII goes into the certificate; the real name travels elsewhere.
  const cleaned = name.replace(/[^\x20-\x7e]/g, '').trim().slice(0, MAX_DEVICE_NAME_LENGTH);
  return cleaned === '' ? DEFAULT_COMMON_NAME : cleaned;
}

function pemBody(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

export async function createDeviceIdentity(name: string, now: Date): Promise<DeviceIdentity> {
  const x509 = await loadX509();
  const alg = { name: 'Ed25519' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const notBefore = new Date(now.getTime() - CERT_BACKDATE_MS);
  const notAfter = new Date(now.getTime());
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + CERT_VALIDITY_YEARS);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1'),
    name: [{ CN: [commonName(name)] }],
    notBefore,
    notAfter,
    signingAlgorithm: alg,
    keys,
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey);
  const certificatePem = cert.toString('pem') + '\n';
  return { privateKeyPem: pemBody(pkcs8, 'PRIVATE KEY'), certificatePem, deviceId: deviceIdFromCertificate(certificatePem) };
}

/** Device id of a certificate (PEM text or DER bytes): formatted SHA-256 of its SubjectPublicKeyInfo. */
export function deviceIdFromCertificate(cert: string | Uint8Array): string {
  let parsed: NodeX509Certificate;
  try {
    parsed = new NodeX509Certificate(typeof cert === 'string' ? cert : Buffer.from(cert));
  } catch (err) {
    throw new SealsyncError('ERR_DEVICE_ID', 'not a valid certificate', undefined, { cause: err });
  }
  const spki = parsed.publicKey.export({ type: 'spki', format: 'der' });
  return formatDeviceId(new Uint8Array(createHash('sha256').update(spki).digest()));
}
