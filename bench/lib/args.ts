/** Command-line helpers shared by the bench modules. */

/** The value after `--name` in `args`, or undefined. */
export function argValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}
