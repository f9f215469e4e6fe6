/**
 * Where a command writes: stdout for results, stderr for messages. Tests pass
 * their own; the real binary uses the process streams.
 */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export const processIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};
