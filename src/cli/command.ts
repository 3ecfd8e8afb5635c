/** The shape of one CLI command file: parse (builder), run an operation, print, return an exit code. */
import type { Argv } from 'yargs';
import type { OpContext } from '../node/context.js';
import type { Output } from './output.js';
import type { ExitCodeValue } from './exit-codes.js';

export interface GlobalArgs {
  home?: string;
  json: boolean;
  wait?: number;
}

export interface CommandSpec<A = Record<string, unknown>> {
  command: string;
  describe: string;
  builder?: (y: Argv) => Argv;
  run(args: A & GlobalArgs, ctx: OpContext, out: Output): Promise<ExitCodeValue | void> | ExitCodeValue | void;
}

export const defineCommand = <A>(spec: CommandSpec<A>): CommandSpec<A> => spec;

/** An option given once or repeated, each time one name or several comma-separated (`--table a,b --table c`). */
export const nameList = (v: string | string[] | undefined): string[] =>
  (Array.isArray(v) ? v : v ? [v] : []).flatMap((x) => String(x).split(',')).map((x) => x.trim()).filter(Boolean);
