/**
 * Where a command writes: stdout for results, stderr for messages. Tests pass
 * their own; the real binary uses the process streams.
 */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/**
 * A reader that goes away early (`sealsync status | head -1`) closes the pipe:
 * the rest of the output has nowhere to go, which is not an error. Without a
 * listener, EPIPE would be an unhandled 'error' event with a stack trace.
 */
const closedStreams = new WeakSet<NodeJS.WriteStream>();
const watchedStreams = new WeakSet<NodeJS.WriteStream>();

function writeTo(stream: NodeJS.WriteStream, text: string): void {
  if (!watchedStreams.has(stream)) {
    watchedStreams.add(stream);
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      closedStreams.add(stream);
    });
  }
  if (!closedStreams.has(stream)) stream.write(text);
}

export const processIo: CliIo = {
  stdout: (t) => { writeTo(process.stdout, t); },
  stderr: (t) => { writeTo(process.stderr, t); },
};
