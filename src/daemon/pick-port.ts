/**
 * Picks a free TCP port on a host by binding port 0 and reading what the OS
 * chose. Done ONCE at init so the port stays the same across restarts (one
 * port to open in a firewall).
 */
import { createServer } from 'node:net';
import { SealsyncError } from '../errors.js';

export async function pickFreePort(host: string): Promise<number> {
  const server = createServer();
  return new Promise<number>((resolve, reject) => {
    server.once('error', (err) => {
      reject(new SealsyncError('ERR_LISTEN', `cannot listen on ${host}: ${err.message}`));
    });
    server.listen({ host, port: 0, exclusive: true }, () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new SealsyncError('ERR_LISTEN', `no port on ${host}`))));
    });
  });
}
