import type { Server } from 'node:net';

/**
 * A process out of file descriptors cannot accept connections. libuv already refuses them
 * cleanly (it closes a reserved descriptor, accepts and drops what is pending, and keeps
 * listening: no spin), but where that trick is unavailable the error reaches the server as
 * an 'error' event, which with no listener ends the process and every client with it. Once
 * listening, an accept error is logged (at most once a second) and the server goes on
 * serving the connections it has; other errors keep their default (fatal) behaviour.
 */
export function keepServingOnAcceptErrors(server: Server, warn: (message: string) => void): void {
  let lastWarnAt = 0;
  server.once('listening', () => {
    server.on('error', (error: NodeJS.ErrnoException) => {
      if (error.syscall !== 'accept') throw error;
      if (Date.now() - lastWarnAt < 1000) return;
      lastWarnAt = Date.now();
      warn(`cannot accept connections (${error.code}): refusing new ones, serving the open ones`);
    });
  });
}
