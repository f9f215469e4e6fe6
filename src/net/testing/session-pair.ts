/**
 * Two real PeerSessions over a loopback TLS connection, for tests: a listener
 * for "server" (the acceptor), a dial from "client" (the dialler), both
 * handshaken and started. close() tears everything down.
 */
import { SyncListener, dial, type SecureConnection } from '../transport.js';
import { PeerSession, type PeerSessionOptions } from '../session.js';
import { MemoryDirectory, testIdentity } from './fixtures.js';

export interface SessionPair {
  client: PeerSession;
  server: PeerSession;
  clientDir: MemoryDirectory;
  serverDir: MemoryDirectory;
  listener: SyncListener;
  close(): Promise<void>;
}

export interface PairOptions {
  clientDir?: MemoryDirectory;
  serverDir?: MemoryDirectory;
  client?: Partial<PeerSessionOptions>;
  server?: Partial<PeerSessionOptions>;
  /** Attach listeners before start() (both sessions are held until this returns). */
  beforeStart?: (client: PeerSession, server: PeerSession) => void;
}

export async function sessionPair(opts: PairOptions = {}): Promise<SessionPair> {
  const clientDir = opts.clientDir ?? new MemoryDirectory();
  const serverDir = opts.serverDir ?? new MemoryDirectory();
  let resolveIncoming!: (c: SecureConnection) => void;
  const incoming = new Promise<SecureConnection>((r) => (resolveIncoming = r));
  const listener = new SyncListener({ listen: '127.0.0.1:0', identity: await testIdentity('server'), onConnection: resolveIncoming });
  await listener.start();
  const [address] = listener.addresses();
  const out = await dial(address as string, { identity: await testIdentity('client'), timeoutMs: 5000 });
  const [client, server] = await Promise.all([
    PeerSession.open(out, { localName: 'client', directory: clientDir, ...opts.client }),
    incoming.then((conn) => PeerSession.open(conn, { localName: 'server', directory: serverDir, ...opts.server })),
  ]);
  opts.beforeStart?.(client, server);
  server.start();
  client.start();
  return {
    client,
    server,
    clientDir,
    serverDir,
    listener,
    async close() {
      await Promise.all([client.close(), server.close()]);
      await listener.stop();
    },
  };
}
