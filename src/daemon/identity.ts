/**
 * The device identity files in a home: device-key.pem (0600) and
 * device-cert.pem. The daemon's one seam to the crypto layer for identities.
 */
import { readFile } from 'node:fs/promises';
import { createDeviceIdentity, deviceIdFromCertificate, type DeviceIdentity } from '../crypto/device.js';
import { SealsyncError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import type { HomePaths } from './home.js';

export async function writeNewIdentity(paths: HomePaths, name: string, now: Date): Promise<DeviceIdentity> {
  const identity = await createDeviceIdentity(name, now);
  await writeFileAtomic(paths.deviceKey, identity.privateKeyPem, 0o600);
  await writeFileAtomic(paths.deviceCert, identity.certificatePem, 0o644);
  return identity;
}

/** The device's TLS credentials for the network layer. */
export async function loadDeviceCredentials(paths: HomePaths): Promise<DeviceIdentity> {
  let privateKeyPem: string;
  let certificatePem: string;
  try {
    privateKeyPem = await readFile(paths.deviceKey, 'utf8');
    certificatePem = await readFile(paths.deviceCert, 'utf8');
  } catch (err) {
    throw new SealsyncError('ERR_CONFIG_INVALID', `cannot read the device identity in ${paths.home}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return { privateKeyPem, certificatePem, deviceId: deviceIdFromCertificate(certificatePem) };
}
